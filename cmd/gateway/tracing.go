package main

import (
	"context"
	"log/slog"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracingEnabled reports whether the standard OpenTelemetry environment
// asks for traces to be exported: OTEL_TRACES_EXPORTER set to something
// other than "none", or an OTLP endpoint set, and OTEL_SDK_DISABLED not
// true. With none of these the gateway keeps OpenTelemetry's no-op
// provider: spans are never recorded and cost next to nothing.
func tracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if e := getenv("OTEL_TRACES_EXPORTER"); e != "" {
		return !strings.EqualFold(e, "none")
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// setupTracing installs the W3C trace-context propagator, always, so that
// a caller's traceparent reaches the providers whether or not this process
// records spans, and, when the environment asks for it, a tracer provider
// exporting through the exporter OTEL_TRACES_EXPORTER names (otlp by
// default, over the protocol OTEL_EXPORTER_OTLP_PROTOCOL names: grpc or
// http/protobuf; also console). Sampling follows OTEL_TRACES_SAMPLER, the
// resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The returned
// function flushes and stops the exporter.
func setupTracing(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !tracingEnabled(getenv) {
		// The no-op provider hands a call the caller's span context as it
		// is (so the traceparent still reaches the providers) without the
		// span and attributes the API's default allocates for every span.
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "llmgateway")))
	if err != nil {
		return nil, err
	}
	// Set by the operator, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// win over the default name.
	if envRes, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, envRes); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("trace export failed", "error", err.Error())
	}))
	log.Info("tracing on", "exporter", orDefault(getenv("OTEL_TRACES_EXPORTER"), "otlp"),
		"protocol", orDefault(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), orDefault(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")))
	return tp.Shutdown, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
