package edge_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// rateLimitRoutes: one provider alone (no backup, no degraded answer),
// one with only a degraded answer, and one with a short timeout.
const rateLimitRoutes = `{
  "routes": {
    "alone": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]},
    "degraded": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}],
      "degraded_answer": "Try again later."},
    "quick": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}],
      "timeout": "500ms", "degraded_answer": "Try again later."}
  }
}`

// The new user's experience, over real sockets: a provider answering 429
// with Retry-After: 30 to a caller without a deadline. The caller is not
// held: the REST call is a 429 with Retry-After at once, the next one
// does not even reach the provider, and the cooldown shows in the admin
// API and the metrics.
func TestRateLimitedProviderDoesNotHoldCallers(t *testing.T) {
	g := startGatewayWith(t, sim.Config{}, testProviders, rateLimitRoutes)
	if err := g.openai.SetFault(sim.Fault{Status: 429, RetryAfter: "30"}); err != nil {
		t.Fatal(err)
	}
	body := `{"route": "alone", "messages": [{"role": "ROLE_USER", "content": "hi"}]}`
	for i := range 2 {
		start := time.Now()
		resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("call %d held the caller for %v", i, el)
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("call %d: %d %s, want 429", i, resp.StatusCode, b)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 20 || ra > 30 {
			t.Fatalf("call %d: Retry-After %q, want about 30", i, resp.Header.Get("Retry-After"))
		}
	}
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 1 {
		t.Fatalf("the provider saw %d requests, want 1: the second call should have skipped it", n)
	}

	// gRPC callers hear RESOURCE_EXHAUSTED at once too, and the degraded
	// answer is served at once where there is one.
	_, err := g.client.Complete(context.Background(), request("alone", ""))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC: %v, want RESOURCE_EXHAUSTED", err)
	}
	resp, err := g.client.Complete(context.Background(), request("degraded", ""))
	if err != nil || resp.Text != "Try again later." {
		t.Fatalf("degraded route: %v, %v", resp, err)
	}

	if left := cooldownSeconds(t, g, "openai"); left < 20 || left > 30 {
		t.Fatalf("admin API shows a cooldown of %vs, want about 30", left)
	}
	m := scrape(t, g)
	for _, want := range []string{
		`llmgateway_provider_cooldowns_total{event="started",provider="openai"} 1`,
		`llmgateway_provider_cooldowns_total{event="skipped",provider="openai"} 3`,
		`llmgateway_provider_cooldown_until_timestamp_seconds{provider="openai"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func cooldownSeconds(t *testing.T, g *gateway, provider string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + g.adminAddr + "/admin/breakers")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Breakers []struct {
			Provider        string
			CooldownSeconds float64 `json:"cooldown_seconds"`
		}
	}
	if err := jsonDecode(resp.Body, &out); err != nil {
		t.Fatal(err)
	}
	for _, b := range out.Breakers {
		if b.Provider == provider {
			return b.CooldownSeconds
		}
	}
	t.Fatalf("no breaker for %s", provider)
	return 0
}

// OpenAI's insufficient_quota is billing: counted under its own class,
// never retried.
func TestInsufficientQuotaHasItsOwnClass(t *testing.T) {
	providersJSON := strings.Replace(testProviders, `"retry": {"max_attempts": 1}`, `"retry": {"max_attempts": 3}`, 1)
	g := startGatewayWith(t, sim.Config{}, providersJSON, rateLimitRoutes)
	if err := g.openai.SetFault(sim.Fault{InsufficientQuota: true}); err != nil {
		t.Fatal(err)
	}
	resp, err := g.client.Complete(ctxT(t), request("degraded", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds(resp.FailedAttempts), ","); got != "openai:quota_exhausted" {
		t.Fatalf("failed attempts %s, want one quota_exhausted", got)
	}
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 1 {
		t.Fatalf("insufficient_quota retried: %d requests", n)
	}
	if m := scrape(t, g); !strings.Contains(m, `llmgateway_provider_errors_total{class="quota_exhausted",provider="openai"} 1`) {
		t.Fatalf("metrics lack the quota_exhausted class")
	}
}

// A caller without a deadline gets the route's timeout; client hints
// shorten it.
func TestRouteTimeoutAndClientHints(t *testing.T) {
	g := startGatewayWith(t, sim.Config{}, testProviders, rateLimitRoutes)
	if err := g.openai.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	// gRPC without a deadline, route timeout 500ms.
	start := time.Now()
	_, err := g.client.Complete(context.Background(), request("quick", ""))
	if el := time.Since(start); status.Code(err) != codes.DeadlineExceeded || el > 10*time.Second {
		t.Fatalf("route timeout: %v after %v, want DEADLINE_EXCEEDED well within 10s", err, el)
	}

	// The "alone" route's timeout is the provider's 5s attempt; the hints
	// ask for 1s.
	post := func(path, body string, hdr map[string]string) (int, time.Duration) {
		req, err := http.NewRequest(http.MethodPost, "http://"+g.httpAddr+path, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	code, el := post("/v1/chat/completions", `{"model": "alone", "messages": [{"role": "user", "content": "hi"}]}`,
		map[string]string{"X-Stainless-Timeout": "1"})
	if code == http.StatusOK || el < time.Second || el > 4*time.Second {
		t.Fatalf("X-Stainless-Timeout: 1: %d after %v, want a failure after about 1s (route: 5s)", code, el)
	}
	code, el = post("/v1/complete", `{"route": "alone", "messages": [{"role": "ROLE_USER", "content": "hi"}]}`,
		map[string]string{"Grpc-Timeout": "1S"})
	if code == http.StatusOK || el < time.Second || el > 4*time.Second {
		t.Fatalf("Grpc-Timeout: 1S: %d after %v, want a failure after about 1s (route: 5s)", code, el)
	}
	// A hint cannot lengthen the route's timeout.
	code, el = post("/v1/chat/completions", `{"model": "quick", "messages": [{"role": "user", "content": "hi"}]}`,
		map[string]string{"X-Stainless-Timeout": "600"})
	if code == http.StatusOK || el > 4*time.Second {
		t.Fatalf("X-Stainless-Timeout: 600 on a 500ms route: %d after %v", code, el)
	}
}

// breakerProviders opens openai's breaker after two failed calls, for a
// minute.
const breakerProviders = `{
  "providers": {
    "openai":    {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 2, "open_for": "1m"}},
    "anthropic": {"kind": "anthropic", "base_url": "%ANTHROPIC%", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000, "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "context_window": 200000, "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}}
  ]
}`

// A reload that does not touch a provider keeps its open breaker; one
// that changes its breaker settings starts it afresh.
func TestReloadCarriesBreakerState(t *testing.T) {
	g := startGatewayWith(t, sim.Config{}, breakerProviders, rateLimitRoutes)
	if err := g.openai.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := g.client.Complete(ctxT(t), request("degraded", "")); err != nil {
			t.Fatal(err)
		}
	}
	if s := breakerState(t, g, "openai"); s != "open" {
		t.Fatalf("breaker %s, want open", s)
	}
	g.openai.ClearFaults()

	reload := func(providersJSON, routesJSON string) {
		t.Helper()
		urls := strings.NewReplacer("%OPENAI%", g.openaiURL, "%ANTHROPIC%", g.anthropicURL)
		replace(t, g.dir, config.ProviderSettingsFile, urls.Replace(providersJSON))
		replace(t, g.dir, config.ABTestConfigFile, routesJSON)
		if changed, err := g.srv.Reloader().Reload(context.Background(), "test"); err != nil || !changed {
			t.Fatalf("reload: changed %v, %v", changed, err)
		}
	}
	// A route changes, the providers do not.
	reload(breakerProviders, strings.Replace(rateLimitRoutes, "Try again later.", "Please try again later.", 2))
	if s := breakerState(t, g, "openai"); s != "open" {
		t.Fatalf("breaker %s after a reload that left the provider alone, want open", s)
	}
	resp, err := g.client.Complete(ctxT(t), request("degraded", ""))
	if err != nil || resp.Text != "Please try again later." {
		t.Fatalf("%v, %v: want the new degraded answer while the breaker stays open", resp, err)
	}
	if !strings.Contains(scrape(t, g), `llmgateway_circuit_breaker_state{provider="openai"} 2`) {
		t.Fatal("metrics do not show the breaker still open")
	}

	// The provider's breaker settings change: it starts closed.
	reload(strings.Replace(breakerProviders, `"min_requests": 2`, `"min_requests": 3`, 1), rateLimitRoutes)
	if s := breakerState(t, g, "openai"); s != "closed" {
		t.Fatalf("breaker %s after its settings changed, want closed", s)
	}
	resp, err = g.client.Complete(ctxT(t), request("degraded", ""))
	if err != nil || resp.Provider != "openai" {
		t.Fatalf("%v, %v: want the provider's answer", resp, err)
	}
}

// experimentTotal is the number of requests the route's experiment has
// counted, once it reaches want or after a few seconds.
func experimentTotal(t *testing.T, g *gateway, route string, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rep, err := g.client.GetExperiment(ctxT(t), &gatewayv1.GetExperimentRequest{Route: route})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, v := range rep.GetVariants() {
			total += v.GetRequests()
		}
		if total == want || time.Now().After(deadline) {
			return total
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An experiment whose id did not change keeps its statistics across a
// reload.
func TestReloadKeepsExperimentStatistics(t *testing.T) {
	g := startGateway(t, sim.Config{})
	for i := range 4 {
		if _, err := g.client.Complete(ctxT(t), request("career_advice", "user-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := experimentTotal(t, g, "career_advice", 4); n != 4 {
		t.Fatalf("experiment counted %d requests, want 4", n)
	}
	replace(t, g.dir, config.ABTestConfigFile, strings.Replace(testRoutes, "You are a career coach.", "You are a careers adviser.", 2))
	if changed, err := g.srv.Reloader().Reload(context.Background(), "test"); err != nil || !changed {
		t.Fatalf("reload: changed %v, %v", changed, err)
	}
	if n := experimentTotal(t, g, "career_advice", 4); n != 4 {
		t.Fatalf("after the reload the experiment counts %d requests, want the 4 from before", n)
	}
	if _, err := g.client.Complete(ctxT(t), request("career_advice", "user-9")); err != nil {
		t.Fatal(err)
	}
	if n := experimentTotal(t, g, "career_advice", 5); n != 5 {
		t.Fatalf("experiment counts %d requests, want 5", n)
	}
}
