package gateway

import (
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/spans"
	"github.com/careerpath/llmgateway/routing"
)

// tracer is taken from the global provider, so that spans cost nothing
// until the process installs one (OpenTelemetry's no-op default). The RPC's
// own span comes from the otelgrpc stats handler; these are its children.
var tracer = spans.Tracer("github.com/careerpath/llmgateway/gateway")

// Names of the spans the server starts under the RPC's span; each
// provider attempt is a span of the resilience package.
const (
	spanCache   = "llmgateway.cache.lookup"
	spanRouting = "llmgateway.routing"
)

// endSpan ends span, marking it failed with err's gRPC code, if any.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(otelcodes.Error, gwerr.CodeName(err))
		span.SetAttributes(attrErrorType.String(gwerr.CodeName(err)))
	}
	span.End()
}

// endRouting records the routing decision on its span.
func endRouting(span trace.Span, d *routing.Decision, err error) {
	if err == nil && d != nil && span.IsRecording() {
		span.SetAttributes(attrRoute.String(d.Route), attrVariant.String(d.Variant), attrReqModel.String(d.Model))
		if d.Provider != nil {
			span.SetAttributes(attrProvider.String(d.Provider.Name()))
		}
	}
	endSpan(span, err)
}

// endCache records a cache lookup's result on its span.
func endCache(span trace.Span, st cache.State, err error) {
	if span.IsRecording() {
		result := "miss"
		switch st {
		case cache.Fresh:
			result = "hit"
		case cache.Stale:
			result = "stale"
		}
		span.SetAttributes(attrCache.String(result))
		if err != nil {
			span.SetAttributes(attrErrorType.String("store_error"))
		}
	}
	span.End()
}
