package providers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/careerpath/llmgateway/providers"
)

// tracingOff installs what the gateway runs with when no trace exporter
// is configured: the W3C propagator and the no-op tracer provider.
func tracingOff(t testing.TB) {
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(tp); otel.SetTextMapPropagator(prop) })
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetTracerProvider(noop.NewTracerProvider())
}

// With tracing off, a caller's trace context still reaches the provider
// as the same traceparent, a call without one carries none, and the
// caller's request is left as it was.
func TestDefaultHTTPClientPassesTheCallersTraceOn(t *testing.T) {
	tracingOff(t)
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), propagation.HeaderCarrier(http.Header{"Traceparent": {parent}}))
	if !trace.SpanContextFromContext(ctx).IsValid() {
		t.Fatal("no span context extracted")
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{{"caller's trace", ctx, parent}, {"no trace", context.Background(), ""}} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(tc.ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := providers.DefaultHTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if tp := <-got; tp != tc.want {
				t.Errorf("traceparent at the provider %q, want %q", tp, tc.want)
			}
			if h := req.Header.Get("traceparent"); h != "" {
				t.Errorf("the caller's request was changed: traceparent %q", h)
			}
		})
	}
}

// BenchmarkDefaultHTTPClient is one small POST and its answer through the
// providers' shared client, tracing off, as most gateways run.
func BenchmarkDefaultHTTPClient(b *testing.B) {
	tracingOff(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	c := providers.DefaultHTTPClient()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, strings.NewReader(`{"model":"m"}`))
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}
