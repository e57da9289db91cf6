package edge

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/spans"
)

// tracer is taken from the global provider, so that spans cost nothing
// until the process installs one (OpenTelemetry's no-op default). The RPC's
// own span comes from the otelgrpc stats handler (or, for in-process
// calls, from [serverContext]); these are its children.
var tracer = spans.Tracer("github.com/careerpath/llmgateway/edge")

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
		if !spans.Off() {
			traced.ServeHTTP(w, r)
			return
		}
		if ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header)); ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// rpcTraceHandler is the gRPC server's stats handler: otelgrpc's (a span
// per RPC, child of the caller's traceparent; health checks left out)
// while the process records spans. With tracing off (the no-op provider,
// installed before the server is built) it only carries the caller's
// trace context into the call, for the providers' requests, without the
// span, attributes and metrics otelgrpc makes of every RPC regardless.
func rpcTraceHandler() stats.Handler {
	if spans.Off() {
		return traceContextOnly{}
	}
	return otelgrpc.NewServerHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))
}

// traceContextOnly is a stats.Handler that extracts the caller's trace
// context from the call's metadata and does nothing else.
type traceContextOnly struct{}

func (traceContextOnly) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, incomingCarrier{ctx})
}

func (traceContextOnly) HandleRPC(context.Context, stats.RPCStats) {}

func (traceContextOnly) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (traceContextOnly) HandleConn(context.Context, stats.ConnStats) {}

// incomingCarrier reads a call's incoming metadata for the propagators
// without copying all of it.
type incomingCarrier struct{ ctx context.Context }

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}
