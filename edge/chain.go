package edge

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/telemetry"
)

// Interceptor is one named link of the chain, unary and stream.
type Interceptor struct {
	Name   string
	Unary  grpc.UnaryServerInterceptor
	Stream grpc.StreamServerInterceptor
}

// Chain is the ordered interceptor chain, outermost first. Later features
// insert themselves by name (auth, validation, quota, cache) between
// logging and status; ordering constraints are asserted by the tests.
type Chain []Interceptor

// Options returns the grpc.ServerOptions installing the chain.
func (c Chain) Options() []grpc.ServerOption {
	unary := make([]grpc.UnaryServerInterceptor, 0, len(c))
	stream := make([]grpc.StreamServerInterceptor, 0, len(c))
	for _, i := range c {
		if i.Unary != nil {
			unary = append(unary, i.Unary)
		}
		if i.Stream != nil {
			stream = append(stream, i.Stream)
		}
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)}
}

// unaryHandler is h behind the chain's unary interceptors, the first
// outermost as with grpc.ChainUnaryInterceptor, for calls of the method
// info names. It is how in-process callers enter the same chain as gRPC
// callers; built once per method, it makes no closure per call.
func (c Chain) unaryHandler(info *grpc.UnaryServerInfo, h grpc.UnaryHandler) grpc.UnaryHandler {
	next := h
	for i := len(c) - 1; i >= 0; i-- {
		it, inner := c[i].Unary, next
		if it == nil {
			continue
		}
		next = func(ctx context.Context, req any) (any, error) { return it(ctx, req, info, inner) }
	}
	return next
}

// streamInterceptor is the chain as one stream interceptor, with the
// semantics of grpc.ChainStreamInterceptor.
func (c Chain) streamInterceptor() grpc.StreamServerInterceptor {
	var its []grpc.StreamServerInterceptor
	for _, i := range c {
		if i.Stream != nil {
			its = append(its, i.Stream)
		}
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return streamNext(its, 0, info, h)(srv, ss)
	}
}

func streamNext(its []grpc.StreamServerInterceptor, i int, info *grpc.StreamServerInfo, h grpc.StreamHandler) grpc.StreamHandler {
	if i == len(its) {
		return h
	}
	return func(srv any, ss grpc.ServerStream) error {
		return its[i](srv, ss, info, streamNext(its, i+1, info, h))
	}
}

// Insert returns the chain with it placed right after the interceptor
// named after (at the end if there is none).
func (c Chain) Insert(after string, it Interceptor) Chain {
	out := make(Chain, 0, len(c)+1)
	placed := false
	for _, x := range c {
		out = append(out, x)
		if x.Name == after {
			out = append(out, it)
			placed = true
		}
	}
	if !placed {
		out = append(out, it)
	}
	return out
}

// Names lists the chain's interceptors, outermost first.
func (c Chain) Names() []string {
	n := make([]string, len(c))
	for i, it := range c {
		n[i] = it.Name
	}
	return n
}

// defaultChain is recovery → metrics → logging → auth → status. Recovery is
// outermost so that a panic anywhere becomes an Internal error; metrics
// (go-grpc-middleware's grpc_server_* counters, when m is set) and logging
// (the observer: the access line, the request metrics and the RPC span's
// GenAI attributes) see every call, refused ones included; status is
// innermost so that every interceptor above it sees the final gRPC code.
// The core provides the logging link (see [gateway.Service.ObserverInterceptors]).
func defaultChain(log *slog.Logger, svc *gateway.Service, m *telemetry.Metrics) Chain {
	onPanic := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "panic", p, "stack", string(debug.Stack()))
		return gwerr.Err(&gwerr.Error{Kind: gwerr.Internal, Message: "internal error"})
	})
	// Keys come from the runtime serving now, so that a reloaded
	// clients.json applies to the next call.
	authUnary, authStream := auth.Interceptors(nil,
		auth.WithStoreFunc(func() *auth.KeyStore { return svc.Runtime().Keys }),
		auth.WithForcedVariant(func(r *gatewayv1.CompleteRequest) string { return r.GetForceVariant() }))
	obsUnary, obsStream := svc.ObserverInterceptors()
	metrics := Interceptor{Name: "metrics"}
	if m != nil {
		metrics.Unary, metrics.Stream = m.GRPCServer().UnaryServerInterceptor(), m.GRPCServer().StreamServerInterceptor()
	}
	return Chain{
		{"recovery", recovery.UnaryServerInterceptor(onPanic), recovery.StreamServerInterceptor(onPanic)},
		metrics,
		{"logging", obsUnary, obsStream},
		{"auth", tracedUnary(spanAuth, authUnary, gateway.NoteClient), tracedStream(spanAuth, authStream, gateway.NoteClient)},
		{"status", statusUnary, statusStream},
	}
}

// statusUnary maps the handler's domain errors to gRPC statuses.
func statusUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if err != nil {
		retryAfterHeader(ctx, err)
		return nil, gwerr.Err(err)
	}
	return resp, nil
}

// statusStream maps the handler's domain errors to gRPC statuses.
func statusStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := h(srv, ss); err != nil {
		retryAfterHeader(ss.Context(), err)
		return gwerr.Err(err)
	}
	return nil
}

// retryAfterHeader sends a provider's back-off (a 429 with Retry-After,
// or a cooldown) as a retry-after header, which the REST shim passes on
// as Retry-After, beside the status's RetryInfo.
func retryAfterHeader(ctx context.Context, err error) {
	pe, ok := providers.AsError(err)
	if !ok || pe.RetryAfter <= 0 || (pe.Kind != providers.KindRateLimited && pe.Kind != providers.KindOverloaded) {
		return
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", gwerr.RetryAfter(pe.RetryAfter)))
}
