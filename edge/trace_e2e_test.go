package edge_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	"github.com/careerpath/llmgateway/providers/sim"
)

var (
	spansOnce sync.Once
	spanStore *tracetest.InMemoryExporter
)

// recordSpans installs, once per process, a tracer provider recording into
// memory and the W3C trace-context propagator, as cmd/gateway does when
// tracing is on: OpenTelemetry's global tracers follow only the first
// provider installed. Tests find their spans by trace id.
func recordSpans() *tracetest.InMemoryExporter {
	spansOnce.Do(func() {
		spanStore = tracetest.NewInMemoryExporter()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spanStore)))
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	})
	return spanStore
}

// spansOf returns the recorded spans of one trace, once its gRPC server
// spans have ended (they end after the caller has its answer).
func spansOf(exp *tracetest.InMemoryExporter, id trace.TraceID) tracetest.SpanStubs {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out tracetest.SpanStubs
		done := false
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID() == id {
				out = append(out, s)
				done = done || (s.SpanKind == trace.SpanKindServer && strings.HasPrefix(s.Name, "llmgateway.v1."))
			}
		}
		if done || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func attrOf(s tracetest.SpanStub, k string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == k {
			return a.Value.String()
		}
	}
	return ""
}

// headerRecorder is a real HTTP proxy in front of a simulator that keeps
// the traceparent of every request it forwards.
type headerRecorder struct {
	mu      sync.Mutex
	parents []string
}

func (h *headerRecorder) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.parents...)
}

func startRecordingProxy(t *testing.T, target string) (*headerRecorder, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &headerRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.parents = append(rec.parents, r.Header.Get("traceparent"))
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// startTracedFailover is the failover gateway with the primary's simulator
// behind a recording proxy.
func startTracedFailover(t *testing.T, opts edge.Options) (*gateway, *sim.Server, *headerRecorder) {
	t.Helper()
	primary, primaryURL, stop, err := sim.Start(sim.Config{RequireAPIKey: testEnv["TEST_OPENAI_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	rec, proxyURL := startRecordingProxy(t, primaryURL)
	t.Cleanup(func() {
		// The proxy's client keeps connections to the simulator.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		"provider_settings.json": strings.ReplaceAll(failoverProviders, "%OPENAI%", proxyURL),
		"ab_test_config.json":    failoverRoutes,
	}, opts)
	return g, primary, rec
}

const (
	testTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	testParent  = "00f067aa0ba902b7"
)

// TestSpanTreeOfRetriedFailedOverRequest follows one request whose primary
// failed three times (retried) before the backup answered: the caller's
// traceparent is the parent of the RPC span; auth, quota, cache, routing
// and the failover chain are its children; each provider attempt is a
// child of the chain with its GenAI attributes and error type; each
// attempt's HTTP call carries the same trace to the provider. No message
// text is recorded.
func TestSpanTreeOfRetriedFailedOverRequest(t *testing.T) {
	exp := recordSpans()
	g, primary, rec := startTracedFailover(t, edge.Options{})
	if err := primary.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "traceparent", "00-"+testTraceID+"-"+testParent+"-01")
	req := request("career_advice", "user-1")
	req.Params.Temperature = proto.Float64(0) // cacheable: a cache lookup
	resp, err := g.client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Provider != "anthropic" || len(resp.FailedAttempts) != 3 {
		t.Fatalf("answered by %s after %d failures", resp.Provider, len(resp.FailedAttempts))
	}

	tid, _ := trace.TraceIDFromHex(testTraceID)
	spans := spansOf(exp, tid)
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	one := func(name string) tracetest.SpanStub {
		t.Helper()
		if len(byName[name]) != 1 {
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
			}
			t.Fatalf("%d spans named %q in %v", len(byName[name]), name, names)
		}
		return byName[name][0]
	}
	rpc := one("llmgateway.v1.LLMGateway/Complete")
	if rpc.SpanKind != trace.SpanKindServer || rpc.Parent.SpanID().String() != testParent || !rpc.Parent.IsRemote() {
		t.Fatalf("RPC span: kind %v, parent %v", rpc.SpanKind, rpc.Parent)
	}
	for k, want := range map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "gpt-4o-mini",
		"gen_ai.response.id": resp.Id, "gen_ai.response.model": resp.Model, "gen_ai.response.finish_reasons": `["stop"]`,
		"gen_ai.usage.input_tokens": itoa(resp.Usage.InputTokens), "gen_ai.usage.output_tokens": itoa(resp.Usage.OutputTokens),
		"llmgateway.route": "career_advice", "llmgateway.step": "backup", "llmgateway.cache": "miss",
	} {
		if got := attrOf(rpc, k); got != want {
			t.Errorf("RPC span %s = %q, want %q", k, got, want)
		}
	}
	for _, name := range []string{"llmgateway.auth", "llmgateway.quota", "llmgateway.cache.lookup", "llmgateway.routing", "llmgateway.failover"} {
		if s := one(name); s.Parent.SpanID() != rpc.SpanContext.SpanID() {
			t.Errorf("%s is not a child of the RPC span", name)
		}
	}
	if r := one("llmgateway.routing"); attrOf(r, "llmgateway.variant") != "gpt" || attrOf(r, "gen_ai.provider.name") != "openai" {
		t.Errorf("routing span attributes %v", r.Attributes)
	}
	if c := one("llmgateway.cache.lookup"); attrOf(c, "llmgateway.cache") != "miss" {
		t.Errorf("cache span attributes %v", c.Attributes)
	}
	chain := one("llmgateway.failover")
	primaryAttempts, backupAttempts := byName["chat gpt-4o-mini"], byName["chat claude-3-5-haiku-latest"]
	if len(primaryAttempts) != 3 || len(backupAttempts) != 1 {
		t.Fatalf("%d primary and %d backup attempt spans", len(primaryAttempts), len(backupAttempts))
	}
	attempts := append(append(tracetest.SpanStubs{}, primaryAttempts...), backupAttempts...)
	httpParents := map[string]bool{}
	for i, a := range attempts {
		if a.Parent.SpanID() != chain.SpanContext.SpanID() || a.SpanKind != trace.SpanKindClient {
			t.Errorf("attempt %d: parent %v kind %v", i, a.Parent.SpanID(), a.SpanKind)
		}
		wantErr, wantStep, wantProv := "server_error", "primary", "openai"
		if i == 3 {
			wantErr, wantStep, wantProv = "", "backup", "anthropic"
		}
		if attrOf(a, "error.type") != wantErr || attrOf(a, "llmgateway.failover.step") != wantStep ||
			attrOf(a, "gen_ai.provider.name") != wantProv || attrOf(a, "gen_ai.operation.name") != "chat" {
			t.Errorf("attempt %d attributes %v", i, a.Attributes)
		}
		// Each attempt's HTTP call is its child.
		var calls int
		for _, s := range spans {
			if s.Parent.SpanID() == a.SpanContext.SpanID() {
				calls++
				httpParents[s.SpanContext.SpanID().String()] = true
			}
		}
		if calls != 1 {
			t.Errorf("attempt %d has %d HTTP call spans", i, calls)
		}
	}
	backup := backupAttempts[0]
	if attrOf(backup, "gen_ai.response.id") != resp.Id || attrOf(backup, "gen_ai.usage.output_tokens") != itoa(resp.Usage.OutputTokens) {
		t.Errorf("backup attempt attributes %v", backup.Attributes)
	}

	// The provider saw the caller's trace, each call as its HTTP span's child.
	parents := rec.got()
	if len(parents) != 3 {
		t.Fatalf("the primary saw %d requests", len(parents))
	}
	for _, p := range parents {
		f := strings.Split(p, "-")
		if len(f) != 4 || f[1] != testTraceID || !httpParents[f[2]] {
			t.Errorf("traceparent at the provider: %q", p)
		}
	}

	// No message text anywhere.
	for _, s := range spans {
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), "data engineer") || strings.HasPrefix(string(a.Key), "gen_ai.input") {
				t.Errorf("span %s records the prompt: %s", s.Name, a.Key)
			}
		}
	}
}

// TestTraceparentThroughRESTShim checks that a REST caller's traceparent
// reaches the provider through the shim's in-process call.
func TestTraceparentThroughRESTShim(t *testing.T) {
	exp := recordSpans()
	g, _, rec := startTracedFailover(t, edge.Options{})
	const id = "0af7651916cd43dd8448eb211c80319c"
	postWithTraceparent(t, g, rec, id)
	// REST span → the RPC span, one trace: the call enters the service in
	// process, with no loopback client span.
	tid, _ := trace.TraceIDFromHex(id)
	kinds := map[trace.SpanKind]int{}
	for _, s := range spansOf(exp, tid) {
		if s.Name == "llmgateway.v1.LLMGateway/Complete" {
			kinds[s.SpanKind]++
		}
	}
	if kinds[trace.SpanKindClient] != 0 || kinds[trace.SpanKindServer] != 1 {
		t.Fatalf("gRPC spans of the REST call by kind: %v", kinds)
	}
}

// TestTraceparentThroughRESTShimWithTracingOff: with the no-op tracer
// provider the REST shim skips otelhttp, and still hands the caller's
// traceparent on to the provider.
func TestTraceparentThroughRESTShimWithTracingOff(t *testing.T) {
	recordSpans() // the propagators
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(noop.NewTracerProvider())
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	g, _, rec := startTracedFailover(t, edge.Options{})
	postWithTraceparent(t, g, rec, "5b8efff798038103d269b633813fc60c")
}

// TestTraceparentOverGRPCWithTracingOff: with the no-op tracer provider
// the gRPC server runs without otelgrpc's handler, and a caller's
// traceparent still reaches the provider.
func TestTraceparentOverGRPCWithTracingOff(t *testing.T) {
	recordSpans() // the propagators
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(noop.NewTracerProvider())
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	g, _, rec := startTracedFailover(t, edge.Options{})
	const id = "7a3c9e1f0b2d4c6e8f0a1b2c3d4e5f60"
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "traceparent", "00-"+id+"-3333333333333333-01")
	if _, err := g.client.Complete(ctx, request("career_advice", "u")); err != nil {
		t.Fatal(err)
	}
	if parents := rec.got(); len(parents) != 1 || !strings.HasPrefix(parents[0], "00-"+id+"-") {
		t.Fatalf("traceparent at the provider: %q", parents)
	}
}

// postWithTraceparent posts a REST Complete with a traceparent of trace
// id and checks that the provider saw that trace.
func postWithTraceparent(t *testing.T, g *gateway, rec *headerRecorder, id string) {
	t.Helper()
	body := `{"route":"career_advice","messages":[{"role":"ROLE_USER","content":"Hi"}],"params":{"max_tokens":16}}`
	hreq, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://"+g.httpAddr+"/v1/complete", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("traceparent", "00-"+id+"-b7ad6b7169203331-01")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	parents := rec.got()
	if len(parents) != 1 || !strings.HasPrefix(parents[0], "00-"+id+"-") {
		t.Fatalf("traceparent at the provider: %q", parents)
	}
}

// TestTraceContentOptIn records the prompt and the answer on the RPC span
// only when the operator asked for it.
func TestTraceContentOptIn(t *testing.T) {
	exp := recordSpans()
	g, _, _ := startTracedFailover(t, edge.Options{Service: core.Options{TraceContent: true}})
	const id = "11111111111111111111111111111111"
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "traceparent", "00-"+id+"-2222222222222222-01")
	resp, err := g.client.Complete(ctx, request("career_advice", "u"))
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex(id)
	for _, s := range spansOf(exp, tid) {
		if s.Name != "llmgateway.v1.LLMGateway/Complete" {
			continue
		}
		in, out := attrOf(s, "gen_ai.input.messages"), attrOf(s, "gen_ai.output.messages")
		if !strings.Contains(in, "How do I become a data engineer?") || !strings.Contains(in, `"role":"user"`) ||
			!strings.Contains(out, jsonEscape(resp.Text)) {
			t.Fatalf("content attributes: in %s out %s", in, out)
		}
		return
	}
	t.Fatal("no RPC span")
}

func itoa[T ~int32 | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
