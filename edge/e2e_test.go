package edge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	_ "github.com/careerpath/llmgateway/providers/anthropic"
	_ "github.com/careerpath/llmgateway/providers/openai"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/telemetry"
)

// gateway is a running gateway in front of two simulators, one speaking
// OpenAI's wire format and one Anthropic's, reached over real HTTP by the
// real provider backends.
type gateway struct {
	srv                *edge.Server
	openai, anthropic  *sim.Server
	grpcAddr, httpAddr string
	adminAddr          string
	client             gatewayv1.LLMGatewayClient
	conn               *grpc.ClientConn
	metrics            *telemetry.Metrics
	openaiURL          string
	anthropicURL       string
	dir                string // the configuration directory
}

const testProviders = `{
  "providers": {
    "openai":    {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}},
    "anthropic": {"kind": "anthropic", "base_url": "%ANTHROPIC%", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000,
     "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6, "cached_input_per_mtok": 0.075}},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "context_window": 200000,
     "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}}
  ]
}`

const testRoutes = `{
  "routes": {
    "career_advice": {"variants": [
      {"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1, "system_prompt": "You are a career coach."},
      {"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1, "system_prompt": "You are a career coach."}
    ]},
    "openai_only": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]},
    "anthropic_only": {"variants": [{"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1}]}
  }
}`

var testEnv = map[string]string{"TEST_OPENAI_KEY": "sk-test-openai", "TEST_ANTHROPIC_KEY": "sk-ant-test"}

func startGateway(t testing.TB, simCfg sim.Config) *gateway {
	t.Helper()
	return startGatewayWith(t, simCfg, testProviders, testRoutes)
}

// startGatewayWith starts simulators and a gateway whose configuration is
// providersJSON (with %OPENAI% and %ANTHROPIC% replaced by the simulators'
// URLs) and routesJSON.
func startGatewayWith(t testing.TB, simCfg sim.Config, providersJSON, routesJSON string) *gateway {
	t.Helper()
	return startGatewayFiles(t, simCfg, map[string]string{
		config.ProviderSettingsFile: providersJSON, config.ABTestConfigFile: routesJSON})
}

// startGatewayFiles is startGatewayWith for any set of config files.
func startGatewayFiles(t testing.TB, simCfg sim.Config, files map[string]string) *gateway {
	t.Helper()
	return startGatewayOpts(t, simCfg, files, edge.Options{})
}

// startGatewayOpts is startGatewayFiles with server options (stores).
func startGatewayOpts(t testing.TB, simCfg sim.Config, files map[string]string, base edge.Options) *gateway {
	t.Helper()
	g := &gateway{}
	oaCfg, anCfg := simCfg, simCfg
	oaCfg.RequireAPIKey = testEnv["TEST_OPENAI_KEY"]
	anCfg.RequireAPIKey = testEnv["TEST_ANTHROPIC_KEY"]
	var oaURL, anURL string
	var stop1, stop2 func()
	var err error
	if g.openai, oaURL, stop1, err = sim.Start(oaCfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop1)
	if g.anthropic, anURL, stop2, err = sim.Start(anCfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop2)

	g.openaiURL, g.anthropicURL = oaURL, anURL
	urls := strings.NewReplacer("%OPENAI%", oaURL, "%ANTHROPIC%", anURL)
	dir := t.TempDir()
	g.dir = dir
	for name, body := range files {
		writeFile(t, dir, name, urls.Replace(body))
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	g.metrics = telemetry.NewMetrics()
	rtOpts := core.RuntimeOptions{Getenv: func(k string) string { return testEnv[k] }, Observer: g.metrics,
		Cooldowns: base.Runtime.Cooldowns}
	rt, err := core.BuildRuntime(cfg, rtOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	opts := base
	opts.GRPCAddr, opts.HTTPAddr, opts.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if opts.Limits == (edge.Limits{}) {
		opts.Limits = edge.Limits{MaxRequestBytes: 64 << 10}
	}
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = 5 * time.Second
	}
	opts.Metrics = g.metrics
	if opts.ConfigDir == "" {
		opts.ConfigDir, opts.Runtime = dir, rtOpts // reloads read the test's directory
	}
	if g.srv, err = edge.New(opts, rt); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.srv.Shutdown(context.Background()) })
	g.grpcAddr, g.httpAddr, g.adminAddr = g.srv.Addrs()
	g.conn, err = grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.conn.Close() })
	g.client = gatewayv1.NewLLMGatewayClient(g.conn)
	return g
}

func writeFile(t testing.TB, dir, name, body string) {
	t.Helper()
	if err := writeFileErr(dir, name, body); err != nil {
		t.Fatal(err)
	}
}

func request(route, subject string) *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route:    route,
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"}},
		Caller:   &gatewayv1.Caller{Subject: subject},
		Params:   &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCompleteBothWireFormats(t *testing.T) {
	g := startGateway(t, sim.Config{})
	for _, tc := range []struct{ route, provider, model string }{
		{"openai_only", "openai", "gpt-4o-mini"},
		{"anthropic_only", "anthropic", "claude-3-5-haiku-latest"},
	} {
		t.Run(tc.route, func(t *testing.T) {
			resp, err := g.client.Complete(ctxT(t), request(tc.route, "user-1"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text == "" || resp.Provider != tc.provider || resp.Model != tc.model || resp.Route != tc.route {
				t.Fatalf("response = %v", resp)
			}
			u := resp.Usage
			if u.GetInputTokens() <= 0 || u.GetOutputTokens() <= 0 {
				t.Fatalf("usage = %v", u)
			}
			if resp.CostUsd <= 0 || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
				t.Fatalf("cost %v served_from %v", resp.CostUsd, resp.ServedFrom)
			}
			if resp.FinishReason == gatewayv1.FinishReason_FINISH_REASON_UNSPECIFIED || resp.Id == "" {
				t.Fatalf("finish %v id %q", resp.FinishReason, resp.Id)
			}
			if resp.GatewayOverhead.AsDuration() < 0 || resp.UpstreamLatency.AsDuration() <= 0 {
				t.Fatalf("overhead %v upstream %v", resp.GatewayOverhead.AsDuration(), resp.UpstreamLatency.AsDuration())
			}
		})
	}
}

func TestStreamMatchesComplete(t *testing.T) {
	g := startGateway(t, sim.Config{InterToken: time.Millisecond})
	for _, route := range []string{"openai_only", "anthropic_only"} {
		t.Run(route, func(t *testing.T) {
			unary, err := g.client.Complete(ctxT(t), request(route, "u"))
			if err != nil {
				t.Fatal(err)
			}
			st, err := g.client.Stream(ctxT(t), request(route, "u"))
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			var final *gatewayv1.StreamResponse
			deltas := 0
			for {
				m, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if final != nil {
					t.Fatal("message after the final one")
				}
				if m.Done {
					final = m
					continue
				}
				deltas++
				text.WriteString(m.Delta)
			}
			if final == nil {
				t.Fatal("stream ended without a final message")
			}
			if deltas < 2 {
				t.Fatalf("only %d deltas", deltas)
			}
			if text.String() != unary.Text {
				t.Fatalf("stream text %q != unary text %q", text.String(), unary.Text)
			}
			if !proto.Equal(final.Usage, unary.Usage) || final.CostUsd != unary.CostUsd || final.Provider != unary.Provider {
				t.Fatalf("final %v vs unary %v", final, unary)
			}
			if final.TimeToFirstToken.AsDuration() <= 0 || final.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
				t.Fatalf("final = %v", final)
			}
		})
	}
}

func TestStickyVariant(t *testing.T) {
	g := startGateway(t, sim.Config{})
	seen := map[string]bool{}
	for i := range 20 {
		subject := "user-" + string(rune('a'+i))
		first, err := g.client.Complete(ctxT(t), request("career_advice", subject))
		if err != nil {
			t.Fatal(err)
		}
		seen[first.Variant] = true
		for range 3 {
			again, err := g.client.Complete(ctxT(t), request("career_advice", subject))
			if err != nil {
				t.Fatal(err)
			}
			if again.Variant != first.Variant {
				t.Fatalf("subject %s moved from %s to %s", subject, first.Variant, again.Variant)
			}
		}
	}
	if len(seen) != 2 {
		t.Fatalf("20 subjects on a 50/50 route saw only %v", seen)
	}
}

func TestBadInput(t *testing.T) {
	g := startGateway(t, sim.Config{})
	big := request("openai_only", "")
	big.Messages[0].Content = strings.Repeat("x", 70<<10)
	tests := []struct {
		name   string
		req    *gatewayv1.CompleteRequest
		fields []string
	}{
		{"empty messages", &gatewayv1.CompleteRequest{Route: "openai_only"}, []string{"messages"}},
		{"unknown role", &gatewayv1.CompleteRequest{Route: "openai_only", Messages: []*gatewayv1.Message{{Role: 7, Content: "x"}}}, []string{"messages[0].role", "messages"}},
		{"max_tokens", func() *gatewayv1.CompleteRequest {
			r := request("openai_only", "")
			r.Params.MaxTokens = proto.Int32(-5)
			return r
		}(), []string{"params.max_tokens"}},
		{"temperature", func() *gatewayv1.CompleteRequest {
			r := request("openai_only", "")
			r.Params.Temperature = proto.Float64(9)
			return r
		}(), []string{"params.temperature"}},
		{"unknown route", request("nope", ""), []string{"route"}},
		{"oversized", big, []string{"request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.client.Complete(ctxT(t), tt.req)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", st.Code(), err)
			}
			var got []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.FieldViolations {
						got = append(got, v.Field)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("violations = %v, want %v", got, tt.fields)
			}
			// The same request through the REST shim is a 400 naming the field.
			body, _ := marshalJSON(tt.req)
			resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tt.fields[0]) {
				t.Fatalf("REST: %d %s", resp.StatusCode, b)
			}
		})
	}
}

func TestUpstreamErrors(t *testing.T) {
	g := startGateway(t, sim.Config{})
	tests := []struct {
		name   string
		fault  sim.Fault
		code   codes.Code
		reason string
		retry  time.Duration
	}{
		{"overloaded", sim.Fault{Status: 529}, codes.Unavailable, "UPSTREAM_OVERLOADED", 0},
		{"server error", sim.Fault{Status: 500}, codes.Unavailable, "UPSTREAM_SERVER_ERROR", 0},
		{"context length", sim.Fault{ContextLength: true}, codes.InvalidArgument, "UPSTREAM_CONTEXT_LENGTH", 0},
		{"malformed", sim.Fault{Malformed: "html"}, codes.Unavailable, "UPSTREAM_MALFORMED", 0},
		// Last: a 429 with Retry-After cools the provider down for 7s.
		{"rate limited", sim.Fault{Status: 429, RetryAfter: "7"}, codes.ResourceExhausted, "UPSTREAM_RATE_LIMITED", 7 * time.Second},
	}
	for _, tt := range tests {
		for _, route := range []string{"openai_only", "anthropic_only"} {
			t.Run(tt.name+"/"+route, func(t *testing.T) {
				simSrv := g.openai
				if route == "anthropic_only" {
					simSrv = g.anthropic
				}
				if err := simSrv.SetFault(tt.fault); err != nil {
					t.Fatal(err)
				}
				defer simSrv.ClearFaults()
				_, err := g.client.Complete(ctxT(t), request(route, ""))
				st := status.Convert(err)
				if st.Code() != tt.code {
					t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.code)
				}
				var reason string
				var retry time.Duration
				for _, d := range st.Details() {
					switch d := d.(type) {
					case *errdetails.ErrorInfo:
						reason = d.Reason
					case *errdetails.RetryInfo:
						retry = d.RetryDelay.AsDuration()
					}
				}
				if reason != tt.reason || retry != tt.retry {
					t.Fatalf("reason %q retry %v, want %q %v", reason, retry, tt.reason, tt.retry)
				}
			})
		}
	}
}

func TestStreamFailsAfterFirstTokenWithStatus(t *testing.T) {
	g := startGateway(t, sim.Config{InterToken: time.Millisecond})
	if err := g.openai.SetFault(sim.Fault{DisconnectAfterTokens: 3}); err != nil {
		t.Fatal(err)
	}
	st, err := g.client.Stream(ctxT(t), request("openai_only", ""))
	if err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for {
		m, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				t.Fatal("a broken upstream stream ended cleanly")
			}
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("code = %v, want Unavailable", status.Code(err))
			}
			break
		}
		if m.Done {
			t.Fatal("a broken upstream stream reported done")
		}
		deltas++
	}
	if deltas == 0 {
		t.Fatal("no deltas before the failure")
	}
}

func TestDeadlineIsHonoured(t *testing.T) {
	g := startGateway(t, sim.Config{})
	if err := g.anthropic.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.client.Complete(ctx, request("anthropic_only", ""))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("returned after %v", el)
	}
}

func TestREST(t *testing.T) {
	g := startGateway(t, sim.Config{})
	body := `{"route":"openai_only","messages":[{"role":"ROLE_USER","content":"Hi"}],"params":{"max_tokens":16}}`

	resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"text", "usage", "cost_usd", "served_from", "gateway_overhead", "upstream_latency"} {
		if _, ok := out[k]; !ok {
			t.Errorf("REST response lacks %q: %s", k, b)
		}
	}

	// Streaming: server-sent events, one StreamResponse per event.
	resp, err = http.Post("http://"+g.httpAddr+"/v1/stream", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	var events []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var ev map[string]any
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			events = append(events, ev)
		} else if line != "" {
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if len(events) < 2 || events[len(events)-1]["done"] != true {
		t.Fatalf("events = %v", events)
	}

	// A stream that fails before its first message is an HTTP error status.
	resp2, err := http.Post("http://"+g.httpAddr+"/v1/stream", "application/json", strings.NewReader(`{"route":"nope","messages":[{"role":"ROLE_USER","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp2.Body)
	_ = resp2.Body.Close()
	if resp2.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "event: error") {
		t.Fatalf("stream error: %d %s", resp2.StatusCode, b)
	}

	// Unknown JSON fields are refused, not ignored.
	resp3, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(`{"route":"openai_only","mesages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp3.Body.Close()
	if resp3.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", resp3.StatusCode)
	}
}

func TestHealthAndGracefulShutdown(t *testing.T) {
	g := startGateway(t, sim.Config{InterToken: 20 * time.Millisecond, AnswerTokens: 20})
	hc := grpc_health_v1.NewHealthClient(g.conn)
	h, err := hc.Check(ctxT(t), &grpc_health_v1.HealthCheckRequest{})
	if err != nil || h.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
	if code := getStatus(t, "http://"+g.adminAddr+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d", code)
	}

	// A stream of ~400ms is in flight when shutdown starts; it must finish.
	st, err := g.client.Stream(ctxT(t), request("openai_only", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.srv.Shutdown(context.Background()) }()

	// Readiness flips first.
	deadline := time.Now().Add(2 * time.Second)
	for getStatus(t, "http://"+g.adminAddr+"/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("readyz still ready during shutdown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var final *gatewayv1.StreamResponse
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("in-flight stream cut off: %v", err)
		}
		if m.Done {
			final = m
		}
	}
	if final == nil {
		t.Fatal("in-flight stream did not finish")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// New work is refused.
	if _, err := g.client.Complete(ctxT(t), request("openai_only", "")); err == nil {
		t.Fatal("call accepted after shutdown")
	}
}

// getStatus is the HTTP status of GET url, 0 when nothing answered: a
// closed admin port must not pass for "not ready".
func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
