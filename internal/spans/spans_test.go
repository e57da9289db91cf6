package spans

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestTracer(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	tr := Tracer("test")
	parent := propagation.TraceContext{}.Extract(context.Background(),
		propagation.HeaderCarrier(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}))

	otel.SetTracerProvider(noop.NewTracerProvider())
	if !Off() {
		t.Fatal("Off = false with the no-op provider")
	}
	ctx, span := tr.Start(parent, "call")
	if ctx != parent || span.IsRecording() || !span.SpanContext().Equal(trace.SpanContextFromContext(parent)) {
		t.Error("with tracing off Start must hand back the caller's context and span")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = tr.Start(parent, "call") }); n != 0 {
		t.Errorf("Start allocates %v times with tracing off", n)
	}

	exp := tracetest.NewInMemoryExporter()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	if Off() {
		t.Fatal("Off = true with a recording provider")
	}
	ctx, span = Tracer("test").Start(parent, "call")
	span.End()
	if ctx == parent || len(exp.GetSpans()) != 1 {
		t.Fatalf("with tracing on Start must start a span: %d spans", len(exp.GetSpans()))
	}
	if got := exp.GetSpans()[0]; got.Parent.TraceID() != trace.SpanContextFromContext(parent).TraceID() {
		t.Errorf("span of trace %v, want the caller's", got.Parent.TraceID())
	}
}
