package edge_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// obsProviders: the primary retries once, the backup not at all, and a
// third provider ("flaky", on a simulator of its own) has a breaker that
// opens after two failures.
const obsProviders = `{
  "providers": {
    "openai": {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "2s",
      "retry": {"max_attempts": 2, "initial_backoff": "5ms", "max_backoff": "10ms"}, "circuit_breaker": {"min_requests": 1000}},
    "anthropic": {"kind": "anthropic", "base_url": "%ANTHROPIC%", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "2s",
      "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}},
    "flaky": {"kind": "openai", "base_url": "%FLAKY%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "2s",
      "retry": {"max_attempts": 1},
      "circuit_breaker": {"failure_rate": 0.5, "min_requests": 2, "window": "1m", "open_for": "1m", "half_open_probes": 1}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000, "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "context_window": 200000, "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}},
    {"name": "flaky-mini", "provider": "flaky", "context_window": 128000, "price": {"input_per_mtok": 1, "output_per_mtok": 2}}
  ]
}`

const obsRoutes = `{
  "routes": {
    "career_advice": {
      "variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}],
      "backups": [{"provider": "anthropic", "model": "claude-3-5-haiku-latest"}],
      "degraded_answer": "Career advice is temporarily unavailable.",
      "cache": {"always": true}
    },
    "flaky_route": {"variants": [{"name": "f", "provider": "flaky", "model": "flaky-mini", "weight": 1}]},
    "limited": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]}
  }
}`

const obsLimits = `{"limits": [{"name": "limited_rpm", "scope": ["route"], "routes": ["limited"], "requests_per_minute": 1}]}`

func startObsGateway(t *testing.T, base edge.Options) (*gateway, *sim.Server) {
	t.Helper()
	flaky, flakyURL, stop, err := sim.Start(sim.Config{RequireAPIKey: testEnv["TEST_OPENAI_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: strings.ReplaceAll(obsProviders, "%FLAKY%", flakyURL),
		config.ABTestConfigFile:     obsRoutes,
		config.RateLimitsFile:       obsLimits,
	}, base)
	return g, flaky
}

func obsRequest(route, text string) *gatewayv1.CompleteRequest {
	r := request(route, "user-1")
	r.Messages[0].Content = text
	return r
}

// tally is what the test expects the metrics to say, built from the
// responses themselves.
type tally struct {
	cost   map[[3]string]float64 // provider, model, route
	tokens map[[3]string][]int64 // provider, model, type → observations
}

func (tl *tally) fresh(provider, model, route string, u *gatewayv1.Usage, cost float64) {
	tl.cost[[3]string{provider, model, route}] += cost
	tl.tokens[[3]string{provider, model, "input"}] = append(tl.tokens[[3]string{provider, model, "input"}], int64(u.GetInputTokens()))
	tl.tokens[[3]string{provider, model, "output"}] = append(tl.tokens[[3]string{provider, model, "output"}], int64(u.GetOutputTokens()))
}

// TestMetricsAfterScriptedTraffic sends a scripted mix of traffic (cache
// misses and hits, a stream, a quota rejection, retries, a failover to the
// backup, a stale answer, a degraded answer, failures that open a breaker,
// an invalid request, reloads) and checks every metric's value and labels
// on a real scrape of /metrics, then checks the scrape with promtool.
func TestMetricsAfterScriptedTraffic(t *testing.T) {
	g, flaky := startObsGateway(t, edge.Options{})
	ctx := ctxT(t)
	tl := &tally{cost: map[[3]string]float64{}, tokens: map[[3]string][]int64{}}
	const route = "career_advice"
	complete := func(r *gatewayv1.CompleteRequest) *gatewayv1.CompleteResponse {
		t.Helper()
		resp, err := g.client.Complete(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// 1. A cache miss answered by the primary, then 2. the same request,
	// a cache hit that saved what the first cost.
	r1 := complete(obsRequest(route, "first"))
	tl.fresh("openai", "gpt-4o-mini", route, r1.Usage, r1.CostUsd)
	if r2 := complete(obsRequest(route, "first")); r2.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT {
		t.Fatalf("second request served from %v", r2.ServedFrom)
	}
	saved := r1.CostUsd

	// 3. A stream (a cache miss).
	st, err := g.client.Stream(ctx, obsRequest(route, "a stream"))
	if err != nil {
		t.Fatal(err)
	}
	var final *gatewayv1.StreamResponse
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Done {
			final = m
		}
	}
	if final == nil || final.TimeToFirstToken.AsDuration() <= 0 {
		t.Fatalf("stream final message %v", final)
	}
	tl.fresh("openai", "gpt-4o-mini", route, final.Usage, final.CostUsd)

	// 4. An answer cached for 100ms, served stale later.
	staleReq := obsRequest(route, "stale later")
	staleReq.Cache = &gatewayv1.CacheControl{Ttl: durationpb.New(100 * time.Millisecond)}
	r4 := complete(staleReq)
	tl.fresh("openai", "gpt-4o-mini", route, r4.Usage, r4.CostUsd)

	// 5. A route limited to one request a minute: the second is refused.
	r5 := complete(obsRequest("limited", "limited"))
	tl.fresh("openai", "gpt-4o-mini", "limited", r5.Usage, r5.CostUsd)
	if _, err := g.client.Complete(ctx, obsRequest("limited", "limited again")); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second limited request: %v", err)
	}

	// 6. The primary fails (500) twice, retried once, and the backup answers.
	if err := g.openai.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	r6 := complete(obsRequest(route, "failover"))
	if r6.Provider != "anthropic" || len(r6.FailedAttempts) != 2 {
		t.Fatalf("failover answered by %s after %d failures", r6.Provider, len(r6.FailedAttempts))
	}
	tl.fresh("anthropic", "claude-3-5-haiku-latest", route, r6.Usage, r6.CostUsd)

	// 7. Both fail: the answer of step 4, now past its TTL, is served stale,
	// and 8. a request that bypasses the cache gets the degraded answer.
	if err := g.anthropic.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if r7 := complete(staleReq); r7.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE {
		t.Fatalf("stale request served from %v", r7.ServedFrom)
	}
	bypass := obsRequest(route, "degraded")
	bypass.Cache = &gatewayv1.CacheControl{Bypass: true}
	if r8 := complete(bypass); r8.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_DEGRADED {
		t.Fatalf("bypassing request served from %v", r8.ServedFrom)
	}

	// 9. Three failures on the flaky provider: two calls open its breaker,
	// the third is refused without a call.
	if err := flaky.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := g.client.Complete(ctx, obsRequest("flaky_route", "flaky")); status.Code(err) != codes.Unavailable {
			t.Fatalf("flaky request %d: %v", i, err)
		}
	}

	// 10. An unknown route.
	if _, err := g.client.Complete(ctx, obsRequest("no_such_route", "x")); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("unknown route: %v", err)
	}

	body := scrapeMetrics(t, g)
	fams := parseMetrics(t, body)
	L := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	wantSeries(t, fams, "llmgateway_requests_total", []series{
		{L("rpc", "Complete", "route", route, "variant", "gpt", "provider", "openai", "status", "OK"), 3},
		{L("rpc", "Stream", "route", route, "variant", "gpt", "provider", "openai", "status", "OK"), 1},
		{L("rpc", "Complete", "route", route, "variant", "gpt", "provider", "anthropic", "status", "OK"), 1},
		{L("rpc", "Complete", "route", route, "variant", "gpt", "provider", "", "status", "OK"), 2},
		{L("rpc", "Complete", "route", "limited", "variant", "gpt", "provider", "openai", "status", "OK"), 1},
		{L("rpc", "Complete", "route", "limited", "variant", "", "provider", "", "status", "RESOURCE_EXHAUSTED"), 1},
		{L("rpc", "Complete", "route", "flaky_route", "variant", "f", "provider", "flaky", "status", "UNAVAILABLE"), 3},
		{L("rpc", "Complete", "route", "", "variant", "", "provider", "", "status", "INVALID_ARGUMENT"), 1},
	})
	wantSeries(t, fams, "llmgateway_provider_errors_total", []series{
		{L("provider", "openai", "class", "server_error"), 6},
		{L("provider", "anthropic", "class", "server_error"), 2},
		{L("provider", "flaky", "class", "server_error"), 2},
	})
	wantSeries(t, fams, "llmgateway_provider_retries_total", []series{{L("provider", "openai"), 3}})
	wantSeries(t, fams, "llmgateway_fallbacks_total", []series{
		{L("route", route, "step", "backup"), 3},
		{L("route", route, "step", "stale_cache"), 2},
		{L("route", route, "step", "degraded"), 1},
		{L("route", "flaky_route", "step", "stale_cache"), 3},
	})
	wantSeries(t, fams, "llmgateway_circuit_breaker_state", []series{
		{L("provider", "openai"), 0}, {L("provider", "anthropic"), 0}, {L("provider", "flaky"), 2},
	})
	wantSeries(t, fams, "llmgateway_cache_lookups_total", []series{
		// A miss looks once (the coalesced call looks again only when an
		// identical one finished meanwhile); a stale answer is looked up a
		// second time by the failover chain.
		{L("result", "miss"), 4}, {L("result", "hit"), 1}, {L("result", "stale"), 2},
	})
	wantSeries(t, fams, "llmgateway_cache_stores_total", []series{{L(), 4}})
	wantSeries(t, fams, "llmgateway_quota_rejections_total", []series{
		{L("limit", "limited_rpm", "kind", "requests_per_minute"), 1},
	})
	wantSeries(t, fams, "llmgateway_cache_savings_usd_total", []series{{L("route", route), saved}})
	var costs []series
	for k, v := range tl.cost {
		costs = append(costs, series{L("provider", k[0], "model", k[1], "route", k[2]), v})
	}
	wantSeries(t, fams, "llmgateway_cost_usd_total", costs)

	// Histograms: counts (and, for tokens, sums) per label set.
	wantCounts(t, fams, "gen_ai_client_operation_duration_seconds", []series{
		{L("gen_ai_operation_name", "chat", "gen_ai_provider_name", "openai", "gen_ai_request_model", "gpt-4o-mini", "error_type", ""), 4},
		{L("gen_ai_operation_name", "chat", "gen_ai_provider_name", "openai", "gen_ai_request_model", "gpt-4o-mini", "error_type", "server_error"), 6},
		{L("gen_ai_operation_name", "chat", "gen_ai_provider_name", "anthropic", "gen_ai_request_model", "claude-3-5-haiku-latest", "error_type", ""), 1},
		{L("gen_ai_operation_name", "chat", "gen_ai_provider_name", "anthropic", "gen_ai_request_model", "claude-3-5-haiku-latest", "error_type", "server_error"), 2},
		{L("gen_ai_operation_name", "chat", "gen_ai_provider_name", "flaky", "gen_ai_request_model", "flaky-mini", "error_type", "server_error"), 2},
	})
	var tokenCounts, tokenSums []series
	for k, obs := range tl.tokens {
		l := L("gen_ai_operation_name", "chat", "gen_ai_provider_name", k[0], "gen_ai_request_model", k[1], "gen_ai_token_type", k[2])
		sum := 0.0
		for _, n := range obs {
			sum += float64(n)
		}
		tokenCounts = append(tokenCounts, series{l, float64(len(obs))})
		tokenSums = append(tokenSums, series{l, sum})
	}
	wantCounts(t, fams, "gen_ai_client_token_usage", tokenCounts)
	wantSums(t, fams, "gen_ai_client_token_usage", tokenSums)
	wantCounts(t, fams, "gen_ai_server_request_duration_seconds", []series{
		{L("gen_ai_operation_name", "chat", "route", route, "error_type", ""), 7},
		{L("gen_ai_operation_name", "chat", "route", "limited", "error_type", ""), 1},
		{L("gen_ai_operation_name", "chat", "route", "limited", "error_type", "RESOURCE_EXHAUSTED"), 1},
		{L("gen_ai_operation_name", "chat", "route", "flaky_route", "error_type", "UNAVAILABLE"), 3},
		{L("gen_ai_operation_name", "chat", "route", "", "error_type", "INVALID_ARGUMENT"), 1},
	})
	wantCounts(t, fams, "gen_ai_server_time_to_first_token_seconds", []series{
		{L("gen_ai_operation_name", "chat", "route", route), 1},
	})
	wantCounts(t, fams, "llmgateway_gateway_overhead_seconds", []series{
		{L("rpc", "Complete"), 7}, {L("rpc", "Stream"), 1},
	})
	// The latency histograms' buckets reach 60 s.
	for _, name := range []string{"gen_ai_client_operation_duration_seconds", "gen_ai_server_request_duration_seconds",
		"gen_ai_server_time_to_first_token_seconds", "llmgateway_gateway_overhead_seconds", "grpc_server_handling_seconds"} {
		b := fams[name].GetMetric()[0].GetHistogram().GetBucket()
		if len(b) < 16 || b[0].GetUpperBound() != 0.005 || b[15].GetUpperBound() != 60 {
			t.Errorf("%s buckets: %v", name, b)
		}
	}

	// go-grpc-middleware's gRPC server metrics.
	grpcL := func(method, typ, code string) map[string]string {
		return L("grpc_service", "llmgateway.v1.LLMGateway", "grpc_method", method, "grpc_type", typ, "grpc_code", code)
	}
	wantSome(t, fams, "grpc_server_handled_total", []series{
		{grpcL("Complete", "unary", "OK"), 7},
		{grpcL("Complete", "unary", "ResourceExhausted"), 1},
		{grpcL("Complete", "unary", "Unavailable"), 3},
		{grpcL("Complete", "unary", "InvalidArgument"), 1},
		{grpcL("Stream", "server_stream", "OK"), 1},
		{grpcL("Feedback", "unary", "OK"), 0}, // initialised before any call
	})

	// Labels are bounded: no caller input anywhere in the scrape.
	for _, secret := range []string{"user-1", "no_such_route", "stale later", testEnv["TEST_OPENAI_KEY"]} {
		if strings.Contains(body, secret) {
			t.Errorf("the scrape holds %q", secret)
		}
	}

	// Reloads: one applied, one refused; the active version follows.
	v0 := g.srv.Reloader().Status().Version
	wantSeries(t, fams, "llmgateway_config_info", []series{{L("version", v0), 1}})
	writeFile(t, g.dir, config.ABTestConfigFile, strings.Replace(obsRoutes, `"limited":`, `"extra": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]}, "limited":`, 1))
	if code := postStatus(t, "http://"+g.adminAddr+"/admin/config/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	v1 := g.srv.Reloader().Status().Version
	writeFile(t, g.dir, config.ABTestConfigFile, `{"routes": {`)
	if code := postStatus(t, "http://"+g.adminAddr+"/admin/config/reload"); code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid reload: %d", code)
	}
	body = scrapeMetrics(t, g)
	fams = parseMetrics(t, body)
	if v1 == v0 {
		t.Fatal("the reload did not change the version")
	}
	wantSeries(t, fams, "llmgateway_config_info", []series{{L("version", v1), 1}})
	wantSeries(t, fams, "llmgateway_config_reloads_total", []series{{L("result", "ok"), 1}, {L("result", "failed"), 1}})
	if ts := fams["llmgateway_config_loaded_timestamp_seconds"].GetMetric()[0].GetGauge().GetValue(); math.Abs(ts-float64(time.Now().Unix())) > 60 {
		t.Errorf("config loaded at %v", ts)
	}

	// The reloaded runtime is the server's to close.
	g.srv.Service().Runtime().Close()
	promtoolCheck(t, body)
}

func scrapeMetrics(t *testing.T, g *gateway) string {
	t.Helper()
	resp, err := http.Get("http://" + g.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func postStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func parseMetrics(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// series is one label set and its expected value.
type series struct {
	labels map[string]string
	value  float64
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func key(l map[string]string) string {
	var kv []string
	for k, v := range l {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

// compare checks the family's series against want: exactly those label
// sets when all is set, else at least those.
func compare(t *testing.T, fams map[string]*dto.MetricFamily, name string, want []series, all bool, value func(*dto.Metric) float64) {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Errorf("%s: not in the scrape", name)
		return
	}
	got := map[string]float64{}
	for _, m := range f.GetMetric() {
		got[key(labelsOf(m))] = value(m)
	}
	for _, w := range want {
		k := key(w.labels)
		g, ok := got[k]
		if !ok {
			t.Errorf("%s%s: missing; have %v", name, k, got)
			continue
		}
		if math.Abs(g-w.value) > 1e-9*math.Max(1, math.Abs(w.value)) {
			t.Errorf("%s%s = %v, want %v", name, k, g, w.value)
		}
		delete(got, k)
	}
	if all && len(got) > 0 {
		t.Errorf("%s: unexpected series %v", name, got)
	}
}

func wantSeries(t *testing.T, fams map[string]*dto.MetricFamily, name string, want []series) {
	t.Helper()
	compare(t, fams, name, want, true, func(m *dto.Metric) float64 {
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	})
}

func wantSome(t *testing.T, fams map[string]*dto.MetricFamily, name string, want []series) {
	t.Helper()
	compare(t, fams, name, want, false, func(m *dto.Metric) float64 { return m.GetCounter().GetValue() })
}

func wantCounts(t *testing.T, fams map[string]*dto.MetricFamily, name string, want []series) {
	t.Helper()
	compare(t, fams, name, want, true, func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) })
}

func wantSums(t *testing.T, fams map[string]*dto.MetricFamily, name string, want []series) {
	t.Helper()
	compare(t, fams, name, want, true, func(m *dto.Metric) float64 { return m.GetHistogram().GetSampleSum() })
}

// promtoolCheck runs `promtool check metrics` on a scrape. `make test`
// installs promtool (apt package prometheus).
func promtoolCheck(t *testing.T, body string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus, or `make system-deps`): skipping `promtool check metrics`")
	}
	f := filepath.Join(t.TempDir(), "metrics.txt")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	cmd := exec.CommandContext(context.Background(), path, "check", "metrics")
	cmd.Stdin = in
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
}
