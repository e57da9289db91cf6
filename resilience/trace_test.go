package resilience_test

import (
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers/sim"
)

var (
	exporterOnce sync.Once
	exporter     *tracetest.InMemoryExporter
)

// spans installs, once per process, a tracer provider recording into
// memory: OpenTelemetry's global tracers follow only the first provider
// installed.
func spans() *tracetest.InMemoryExporter {
	exporterOnce.Do(func() {
		exporter = tracetest.NewInMemoryExporter()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter)))
	})
	return exporter
}

// TestSpanTreeOfARetriedFailedOverRequest checks the trace of a request
// whose primary failed three times before the backup answered: one chain
// span, with one child span per attempt.
func TestSpanTreeOfARetriedFailedOverRequest(t *testing.T) {
	exp := spans()
	exp.Reset()

	f := newFixture(t, config.Provider{Retry: &config.Retry{MaxAttempts: 3, InitialBackoff: config.Duration(1)}})
	if err := f.primary.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.chain(t, "").Complete(ctx(t), req()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	var chain tracetest.SpanStub
	var attempts, calls []tracetest.SpanStub
	for _, s := range spans {
		switch {
		case s.Name == "llmgateway.failover":
			chain = s
		case strings.HasPrefix(s.Name, "chat "):
			attempts = append(attempts, s)
		default: // the HTTP call of an attempt
			calls = append(calls, s)
		}
	}
	if chain.Name == "" {
		t.Fatalf("no chain span in %d spans", len(spans))
	}
	attr := func(s tracetest.SpanStub, k string) string {
		for _, a := range s.Attributes {
			if string(a.Key) == k {
				return a.Value.String()
			}
		}
		return ""
	}
	if attr(chain, "llmgateway.failover.step") != "backup" || attr(chain, "llmgateway.provider") != "backup" {
		t.Fatalf("chain span attributes %v", chain.Attributes)
	}
	if len(attempts) != 4 {
		t.Fatalf("%d attempt spans, want 3 failed primary attempts and 1 backup", len(attempts))
	}
	if len(calls) != len(attempts) {
		t.Fatalf("%d HTTP call spans for %d attempts", len(calls), len(attempts))
	}
	for i, c := range calls {
		if c.Parent.SpanID() != attempts[i].SpanContext.SpanID() {
			t.Errorf("HTTP call %d (%s) is not a child of attempt %d", i, c.Name, i)
		}
	}
	for i, s := range attempts {
		if s.Parent.SpanID() != chain.SpanContext.SpanID() {
			t.Errorf("attempt %d is not a child of the chain span", i)
		}
		wantProvider, wantStatus := "primary", codes.Error
		if i == 3 {
			wantProvider, wantStatus = "backup", codes.Unset
		}
		if attr(s, "llmgateway.provider") != wantProvider || s.Status.Code != wantStatus {
			t.Errorf("attempt %d: provider %s status %v", i, attr(s, "llmgateway.provider"), s.Status)
		}
		if i < 3 && attr(s, "error.type") != "server_error" {
			t.Errorf("attempt %d: error.type %q", i, attr(s, "error.type"))
		}
		if attr(s, "gen_ai.request.model") == "" || attr(s, "gen_ai.operation.name") != "chat" {
			t.Errorf("attempt %d lacks GenAI attributes: %v", i, s.Attributes)
		}
	}
}
