package edge_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// failoverProviders puts the primary (OpenAI wire) in front of the backup
// (Anthropic wire), with quick retries and a breaker that opens after four
// calls.
const failoverProviders = `{
  "providers": {
    "openai": {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "300ms",
      "retry": {"max_attempts": 3, "initial_backoff": "10ms", "max_backoff": "50ms", "max_retry_after": "2s"},
      "circuit_breaker": {"failure_rate": 0.5, "min_requests": 4, "window": "10s", "open_for": "300ms", "half_open_probes": 1},
      "stream": {"first_token_timeout": "300ms", "idle_timeout": "300ms"}},
    "anthropic": {"kind": "anthropic", "base_url": "%ANTHROPIC%", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "2s",
      "retry": {"max_attempts": 2, "initial_backoff": "10ms"}, "circuit_breaker": {"min_requests": 1000}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000, "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "context_window": 200000, "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}}
  ]
}`

const failoverRoutes = `{
  "routes": {
    "career_advice": {
      "variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}],
      "backups": [{"provider": "anthropic", "model": "claude-3-5-haiku-latest"}],
      "degraded_answer": "Career advice is temporarily unavailable."
    },
    "no_degraded": {
      "variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}],
      "backups": [{"provider": "anthropic", "model": "claude-3-5-haiku-latest"}]
    }
  }
}`

func startFailover(t *testing.T) *gateway {
	return startGatewayWith(t, sim.Config{}, failoverProviders, failoverRoutes)
}

func kinds(as []*gatewayv1.FailedAttempt) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Provider+":"+a.ErrorKind)
	}
	return out
}

func TestFailoverServerErrorsRetryThenBackup(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Provider != "anthropic" || resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP || resp.Text == "" {
		t.Fatalf("answer from %s at %v: %q", resp.Provider, resp.Step, resp.Text)
	}
	if got := strings.Join(kinds(resp.FailedAttempts), ","); got != "openai:server_error,openai:server_error,openai:server_error" {
		t.Fatalf("failed attempts = %s, want three retried server errors", got)
	}
	if resp.CostUsd <= 0 || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
		t.Fatalf("backup answer not accounted: %v", resp)
	}
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 3 {
		t.Fatalf("primary saw %d requests, want 3", n)
	}
}

func TestFailoverRetryAfterWaitsWhenDeadlineAllows(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Status: 429, RetryAfter: "1", Count: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("answered after %v: Retry-After: 1 was not honoured", el)
	}
	if resp.Provider != "openai" || resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY {
		t.Fatalf("answer from %s at %v, want the primary after waiting", resp.Provider, resp.Step)
	}
	if got := strings.Join(kinds(resp.FailedAttempts), ","); got != "openai:rate_limited" {
		t.Fatalf("failed attempts = %s", got)
	}
}

func TestFailoverRetryAfterBeyondDeadlineFailsOverAtOnce(t *testing.T) {
	g := startFailover(t)
	// The provider asks for 30s, far past the caller's 10s deadline: the
	// gateway must not wait (which would run out the deadline) but fail
	// over at once. The bound on the elapsed time is far below both, so
	// that a loaded machine cannot fail the test.
	if err := g.openai.SetFault(sim.Fault{Status: 429, RetryAfter: "30"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := g.client.Complete(ctx, request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v: should have failed over without waiting", el)
	}
	if resp.Provider != "anthropic" || len(resp.FailedAttempts) != 1 {
		t.Fatalf("answer from %s after %v", resp.Provider, kinds(resp.FailedAttempts))
	}
}

func TestFailoverHangingPrimaryTimesOut(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Provider != "anthropic" {
		t.Fatalf("answer from %s", resp.Provider)
	}
	for _, a := range resp.FailedAttempts {
		if a.Provider != "openai" || a.ErrorKind != "timeout" || a.Duration.AsDuration() > time.Second {
			t.Fatalf("attempt %v, want openai timeouts of about 300ms", a)
		}
	}
}

func TestFailoverBadRequestIsNotRetriedOrFailedOver(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Status: 400}); err != nil {
		t.Fatal(err)
	}
	_, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	if p, b := g.openai.Stats().Requests[sim.PathChatCompletions], g.anthropic.Stats().Requests[sim.PathMessages]; p != 1 || b != 0 {
		t.Fatalf("primary saw %d requests, backup %d; want 1 and 0", p, b)
	}
}

func TestFailoverAllDownServesDegraded(t *testing.T) {
	g := startFailover(t)
	for _, s := range []*sim.Server{g.openai, g.anthropic} {
		if err := s.SetFault(sim.Fault{Status: 503}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_DEGRADED || resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_DEGRADED ||
		resp.Text != "Career advice is temporarily unavailable." || resp.CostUsd != 0 {
		t.Fatalf("response = %v", resp)
	}
	if len(resp.FailedAttempts) != 5 {
		t.Fatalf("failed attempts = %v, want 3 primary + 2 backup", kinds(resp.FailedAttempts))
	}

	// The same as a stream: one clean stream carrying the degraded answer.
	st, err := g.client.Stream(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	text, final := drain(t, st)
	if text != "Career advice is temporarily unavailable." || final.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_DEGRADED {
		t.Fatalf("stream: %q %v", text, final)
	}

	// A route without a degraded answer never reports an empty success.
	_, err = g.client.Complete(ctxT(t), request("no_degraded", ""))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
}

func TestFailoverStreamCutBeforeFirstToken(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Disconnect: true, DisconnectAfterTokens: 0}); err != nil {
		t.Fatal(err)
	}
	st, err := g.client.Stream(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	text, final := drain(t, st)
	want := sim.Text("claude-3-5-haiku-latest", "How do I become a data engineer?", sim.DefaultAnswerTokens, 64)
	if text != want {
		t.Fatalf("stream text %q, want the backup's whole answer %q", text, want)
	}
	if final.Provider != "anthropic" || final.Step != gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP || len(final.FailedAttempts) == 0 {
		t.Fatalf("final = %v", final)
	}
}

func TestFailoverStreamStallIsAFailure(t *testing.T) {
	g := startGatewayWith(t, sim.Config{}, failoverProviders, failoverRoutes)
	// The primary's first token comes after 1s: past its 300ms first-token
	// timeout, so the backup answers.
	if err := g.openai.SetConfig(sim.Config{TTFT: time.Second}); err != nil {
		t.Fatal(err)
	}
	st, err := g.client.Stream(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	_, final := drain(t, st)
	if final.Provider != "anthropic" || kinds(final.FailedAttempts)[0] != "openai:timeout" {
		t.Fatalf("final = %v", final)
	}
}

// switchable serves the simulator on one address that can be taken down
// (connections refused) and brought back.
type switchable struct {
	addr string
	srv  *http.Server
	mu   sync.Mutex
}

func (s *switchable) up(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: sim.New(sim.Config{}), ReadHeaderTimeout: time.Second}
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
}

func (s *switchable) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

func TestFailoverBreakerOpensSkipsAndRecovers(t *testing.T) {
	primary := &switchable{addr: "127.0.0.1:0"}
	primary.up(t)
	t.Cleanup(primary.down)
	primary.down() // connections refused from now on
	providersJSON := strings.Replace(failoverProviders, "%OPENAI%/v1", "http://"+primary.addr+"/v1", 1)
	g := startGatewayWith(t, sim.Config{}, providersJSON, failoverRoutes)

	// Each request makes 3 refused attempts; the breaker (4 calls, 50%)
	// opens during the second.
	for range 2 {
		resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
		if err != nil || resp.Provider != "anthropic" {
			t.Fatalf("resp %v err %v", resp, err)
		}
	}
	if s := breakerState(t, g, "openai"); s != "open" {
		t.Fatalf("breaker %s, want open", s)
	}
	// Now the primary is skipped without waiting.
	resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.FailedAttempts) != 1 || resp.FailedAttempts[0].Duration.AsDuration() > 5*time.Millisecond {
		t.Fatalf("open breaker did not skip the primary: %v", resp.FailedAttempts)
	}
	if !strings.Contains(scrape(t, g), `llmgateway_circuit_breaker_state{provider="openai"} 2`) {
		t.Fatal("metrics do not show the open breaker")
	}

	// The primary recovers; after open_for a half-open probe closes it.
	primary.up(t)
	time.Sleep(350 * time.Millisecond)
	resp, err = g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil || resp.Provider != "openai" || len(resp.FailedAttempts) != 0 {
		t.Fatalf("after recovery: %v %v", resp, err)
	}
	if s := breakerState(t, g, "openai"); s != "closed" {
		t.Fatalf("breaker %s, want closed", s)
	}
	if !strings.Contains(scrape(t, g), `llmgateway_circuit_breaker_state{provider="openai"} 0`) {
		t.Fatal("metrics do not show the closed breaker")
	}
}

// TestFailoverLoadWhilePrimaryFlaps runs 200 concurrent callers while the
// primary fails 30% of calls, then goes down, then recovers: every request
// must end within its deadline with a non-empty answer.
func TestFailoverLoadWhilePrimaryFlaps(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test: make test runs it, make check (-short) does not")
	}
	g := startFailover(t)
	const callers = 200
	var (
		wg                sync.WaitGroup
		done, failed, bad atomic.Int64
		stop              = make(chan struct{})
	)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				start := time.Now()
				resp, err := g.client.Complete(ctx, request("career_advice", ""))
				cancel()
				switch {
				case err != nil:
					failed.Add(1)
					t.Errorf("request failed: %v", err)
				case resp.Text == "" || time.Since(start) > 3*time.Second:
					bad.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	phase := func(f *sim.Fault, d time.Duration) {
		if f == nil {
			g.openai.ClearFaults()
		} else if err := g.openai.SetFault(*f); err != nil {
			t.Error(err)
		}
		time.Sleep(d)
	}
	phase(&sim.Fault{Status: 500, Probability: 0.3}, 1500*time.Millisecond)
	phase(&sim.Fault{Status: 503}, 1500*time.Millisecond)
	phase(nil, 1500*time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d failed, %d empty or late", done.Load(), failed.Load(), bad.Load())
	if failed.Load() != 0 || bad.Load() != 0 || done.Load() < callers {
		t.Fatalf("%d failed, %d bad of %d", failed.Load(), bad.Load(), done.Load())
	}
	m := scrape(t, g)
	for _, want := range []string{`llmgateway_fallbacks_total{route="career_advice",step="backup"}`, `llmgateway_provider_retries_total{provider="openai"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// With the primary healthy again, the breaker's half-open probes
	// close it once its delay is over. Under a loaded machine the last
	// phase may end before that, so keep sending requests (the probes)
	// for a while before calling it stuck.
	deadline := time.Now().Add(10 * time.Second)
	for breakerState(t, g, "openai") == "open" {
		if time.Now().After(deadline) {
			t.Fatalf("breaker still open 10s after the primary recovered")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := g.client.Complete(ctx, request("career_advice", "")); err != nil {
			t.Errorf("request after recovery: %v", err)
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
}

func drain(t *testing.T, st gatewayv1.LLMGateway_StreamClient) (string, *gatewayv1.StreamResponse) {
	t.Helper()
	var text strings.Builder
	var final *gatewayv1.StreamResponse
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if m.Done {
			final = m
		}
		text.WriteString(m.Delta)
	}
	if final == nil {
		t.Fatal("stream without a final message")
	}
	return text.String(), final
}

func scrape(t *testing.T, g *gateway) string {
	t.Helper()
	resp, err := http.Get("http://" + g.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func breakerState(t *testing.T, g *gateway, provider string) string {
	t.Helper()
	resp, err := http.Get("http://" + g.adminAddr + "/admin/breakers")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Breakers []struct{ Provider, State string }
	}
	if err := jsonDecode(resp.Body, &out); err != nil {
		t.Fatal(err)
	}
	for _, b := range out.Breakers {
		if b.Provider == provider {
			return b.State
		}
	}
	t.Fatalf("no breaker for %s", provider)
	return ""
}

func TestRESTStreamFailureAfterFirstTokenIsAnSSEError(t *testing.T) {
	g := startGatewayWith(t, sim.Config{InterToken: time.Millisecond}, failoverProviders, failoverRoutes)
	if err := g.openai.SetFault(sim.Fault{DisconnectAfterTokens: 3}); err != nil {
		t.Fatal(err)
	}
	body := `{"route":"career_advice","messages":[{"role":"ROLE_USER","content":"Hi"}]}`
	resp, err := http.Post("http://"+g.httpAddr+"/v1/stream", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	out := string(b)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `data: {"delta"`) {
		t.Fatalf("stream did not start: %d %s", resp.StatusCode, out)
	}
	if !strings.Contains(out, "event: error\ndata: ") || regexp.MustCompile(`"done":\s*true`).MatchString(out) {
		t.Fatalf("a broken stream must end with an error event, not a final message:\n%s", out)
	}
}

func TestFailoverBulkheadFullGoesToBackup(t *testing.T) {
	providersJSON := strings.Replace(failoverProviders, `"timeout": "300ms",`, `"timeout": "2s", "max_concurrency": 1,`, 1)
	g := startGatewayWith(t, sim.Config{}, providersJSON, failoverRoutes)
	if err := g.openai.SetConfig(sim.Config{Latency: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	first := make(chan *gatewayv1.CompleteResponse, 1)
	go func() {
		resp, err := g.client.Complete(ctxT(t), request("career_advice", "a"))
		if err != nil {
			t.Error(err)
		}
		first <- resp
	}()
	time.Sleep(100 * time.Millisecond) // the first call holds the only slot
	start := time.Now()
	resp, err := g.client.Complete(ctxT(t), request("career_advice", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); resp.Provider != "anthropic" || el > 300*time.Millisecond {
		t.Fatalf("second call: %s after %v, want the backup at once", resp.Provider, el)
	}
	if k := kinds(resp.FailedAttempts); len(k) != 1 || k[0] != "openai:overloaded" {
		t.Fatalf("failed attempts %v", k)
	}
	if r := <-first; r == nil || r.Provider != "openai" {
		t.Fatalf("first call: %v", r)
	}
}

func TestFailoverStreamsBrokenAfterTheirFirstTokenOpenTheBreaker(t *testing.T) {
	g := startGatewayWith(t, sim.Config{InterToken: time.Millisecond}, failoverProviders, failoverRoutes)
	if err := g.openai.SetFault(sim.Fault{DisconnectAfterTokens: 2}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		st, err := g.client.Stream(ctxT(t), request("career_advice", ""))
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := st.Recv(); err != nil {
				break
			}
		}
	}
	if s := breakerState(t, g, "openai"); s != "open" {
		t.Fatalf("breaker %s after 4 broken streams, want open", s)
	}
}

func TestCoalescedRequestKeepsTheCallersDeadlineForRetryAfter(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Status: 429, RetryAfter: "3"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r := request("career_advice", "")
	r.Params.Temperature = proto.Float64(0) // cacheable: runs as shared work
	resp, err := g.client.Complete(ctx, r)
	if err != nil || resp.Provider != "anthropic" {
		t.Fatalf("resp %v err %v: a Retry-After past the caller's deadline must fail over", resp, err)
	}
}

// A backup that cannot honour what the request needs (Anthropic has no
// reasoning effort levels) is passed by without a call: the chain goes on
// to its degraded answer, and a route without one fails as unavailable,
// not as the caller's bad request the primary would have honoured.
func TestFailoverPassesByABackupThatCannotHonourTheRequest(t *testing.T) {
	g := startFailover(t)
	if err := g.openai.SetFault(sim.Fault{Status: 503}); err != nil {
		t.Fatal(err)
	}
	effort := func(route string) *gatewayv1.CompleteRequest {
		r := request(route, "")
		r.Reasoning = &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW}
		return r
	}
	resp, err := g.client.Complete(ctxT(t), effort("career_advice"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_DEGRADED || resp.Text != "Career advice is temporarily unavailable." {
		t.Fatalf("response = %v", resp)
	}
	if got := strings.Join(kinds(resp.FailedAttempts), ","); got != "openai:overloaded,openai:overloaded,openai:overloaded,anthropic:unavailable" {
		t.Fatalf("failed attempts = %s", got)
	}

	st, err := g.client.Stream(ctxT(t), effort("career_advice"))
	if err != nil {
		t.Fatal(err)
	}
	if text, final := drain(t, st); final.Step != gatewayv1.FailoverStep_FAILOVER_STEP_DEGRADED || text != "Career advice is temporarily unavailable." {
		t.Fatalf("stream: %q %v", text, final)
	}

	_, err = g.client.Complete(ctxT(t), effort("no_degraded"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "cannot honour reasoning.effort") {
		t.Fatalf("err = %v, want Unavailable naming reasoning.effort", err)
	}
	if n := g.anthropic.Stats().Requests["/v1/messages"]; n != 0 {
		t.Fatalf("the backup was called %d times", n)
	}
}
