package edge

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/gwerr"
)

// tracer is taken from the global provider, so that spans cost nothing
// until the process installs one (OpenTelemetry's no-op default). The RPC's
// own span comes from the otelgrpc stats handler (or, for in-process
// calls, from [serverContext]); these are its children.
var tracer = otel.Tracer("github.com/careerpath/llmgateway/edge")

// spanAuth is the span of the auth link.
const spanAuth = "llmgateway.auth"

// endSpan ends span, marking it failed with err's gRPC code, if any.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(otelcodes.Error, gwerr.CodeName(err))
		span.SetAttributes(attribute.String("error.type", gwerr.CodeName(err)))
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

// tracedHTTP is h under otelhttp's server span while the process records
// spans. With tracing off (the no-op provider) it only carries the
// caller's trace context (traceparent, baggage) into the request's
// context, for the providers' requests, and skips the span, the body and
// response wrappers and the attributes otelhttp builds on every request
// whether or not anything records them.
func tracedHTTP(h http.Handler, operation string) http.Handler {
	traced := otelhttp.NewHandler(h, operation)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, off := otel.GetTracerProvider().(noop.TracerProvider); !off {
			traced.ServeHTTP(w, r)
			return
		}
		if ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header)); ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}
