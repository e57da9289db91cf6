package main

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestTracingOffKeepsTheCallersTrace: with no exporter configured, a span
// started under a caller's remote span context is that context, which the
// propagator passes on to a provider's request as the same traceparent.
func TestTracingOffKeepsTheCallersTrace(t *testing.T) {
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(tp); otel.SetTextMapPropagator(prop) })
	stop, err := setupTracing(context.Background(), func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stop(context.Background()) }()

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	in := propagation.HeaderCarrier(http.Header{"Traceparent": {parent}})
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), in)
	ctx, span := otel.Tracer("test").Start(ctx, "call")
	defer span.End()
	if span.IsRecording() {
		t.Error("a span is recorded with tracing off")
	}
	out := propagation.HeaderCarrier(http.Header{})
	otel.GetTextMapPropagator().Inject(ctx, out)
	if got := out.Get("traceparent"); got != parent {
		t.Errorf("traceparent to the provider %q, want the caller's %q", got, parent)
	}
	if !trace.SpanContextFromContext(ctx).IsRemote() {
		t.Error("the call's span context is not the caller's")
	}
}
