package server

import (
	"context"

	"go.opentelemetry.io/otel"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/routing"
)

// tracer is taken from the global provider, so that spans cost nothing
// until the process installs one (OpenTelemetry's no-op default). The RPC's
// own span comes from the otelgrpc stats handler; these are its children.
var tracer = otel.Tracer("github.com/careerpath/llmgateway/server")

// Names of the spans the server starts under the RPC's span; each
// provider attempt is a span of the resilience package.
const (
	spanAuth    = "llmgateway.auth"
	spanQuota   = "llmgateway.quota"
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

// tracedUnary gives the work of interceptor it a span of its own, named
// name, that ends when it hands over to the rest of the chain (or refuses
// the call): the spans below it stay children of the RPC's span. pass,
// when set, sees the context it hands over.
func tracedUnary(name string, it grpc.UnaryServerInterceptor, pass func(context.Context)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		parent := trace.SpanFromContext(ctx)
		sctx, span := tracer.Start(ctx, name)
		ended := false
		resp, err := it(sctx, req, info, func(ctx context.Context, req any) (any, error) {
			span.End()
			ended = true
			if pass != nil {
				pass(ctx)
			}
			return h(trace.ContextWithSpan(ctx, parent), req)
		})
		if !ended {
			endSpan(span, err)
		}
		return resp, err
	}
}

// tracedStream is tracedUnary for streams.
func tracedStream(name string, it grpc.StreamServerInterceptor, pass func(context.Context)) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		parent := trace.SpanFromContext(ss.Context())
		sctx, span := tracer.Start(ss.Context(), name)
		ended := false
		err := it(srv, &contextStream{ss, sctx}, info, func(srv any, inner grpc.ServerStream) error {
			span.End()
			ended = true
			if pass != nil {
				pass(inner.Context())
			}
			return h(srv, &contextStream{inner, trace.ContextWithSpan(inner.Context(), parent)})
		})
		if !ended {
			endSpan(span, err)
		}
		return err
	}
}

// contextStream is a server stream with another context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context implements grpc.ServerStream.
func (s *contextStream) Context() context.Context { return s.ctx }
