// Package quotagrpc enforces rate_limits.json on the gateway's gRPC calls:
// its interceptors reserve what each Complete, Stream and Embed call may use
// before it runs, refuse it when a limit does not fit, and hand the call's
// [Grant] on to the service, whose answer settles it.
package quotagrpc

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/auth"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/spans"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
)

// DefaultReservedOutputTokens is what a request without max_tokens reserves
// for its answer before the call; the reservation is reconciled with the
// real usage after it.
const DefaultReservedOutputTokens = 1024

// Limiter is what the interceptors need of a [quota.Limiter].
type Limiter interface {
	Reserve(ctx context.Context, r quota.Request) (*quota.Reservation, error)
}

// Options configure [Interceptors].
type Options struct {
	// FallbackVariant names a route's budget_fallback_variant, "" for
	// none; nil: no route has one.
	FallbackVariant func(route string) string
	// Logger receives budget downgrades and failed releases; nil discards
	// them.
	Logger *slog.Logger
}

// Interceptors enforce rate_limits.json: each call reserves its
// request, its estimated tokens (prompt estimate plus max_tokens) and, for
// a stream, a stream slot before it runs; when it ends the reservation is
// reconciled, by whoever settles the call's [Grant], with the tokens and
// cost the answer really had (refunding or charging the difference and
// adding the cost to the budgets), or released when it was not. A stream that outruns its reservation is charged in full
// at its end.
//
// A request refused only by an exhausted USD budget, on a route with a
// budget_fallback_variant, goes on instead on that (cheaper) variant,
// without the budget check; its cost is still added to the budget's spend.
//
// A refused call ends with the gateway's error map's status and the
// limit in rate-limit response headers; an admitted one carries what is
// left of its limits in the same headers.
func Interceptors(l Limiter, opts Options) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	q := &interceptor{limiter: l, fallbackFor: opts.FallbackVariant, log: opts.Logger}
	if q.fallbackFor == nil {
		q.fallbackFor = func(string) string { return "" }
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	return q.unary, q.stream
}

type interceptor struct {
	limiter     Limiter
	fallbackFor func(string) string
	log         *slog.Logger
}

func (q *interceptor) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if er, ok := req.(*gatewayv1.EmbedRequest); ok {
		g, err := q.reserveEmbed(ctx, er)
		if err != nil {
			return nil, err
		}
		resp, err := h(NewContext(ctx, g), req)
		q.release(ctx, g)
		return resp, err
	}
	cr, ok := req.(*gatewayv1.CompleteRequest)
	if !ok {
		return h(ctx, req)
	}
	g, err := q.reserve(ctx, cr, false)
	if err != nil {
		return nil, err
	}
	resp, err := h(NewContext(ctx, g), req)
	q.release(ctx, g)
	return resp, err
}

func (q *interceptor) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod != gatewayv1.LLMGateway_Stream_FullMethodName {
		return h(srv, ss)
	}
	qs := &quotaStream{ServerStream: ss, q: q, ctx: ss.Context()}
	err := h(srv, qs)
	if qs.grant != nil {
		q.release(ss.Context(), qs.grant)
	}
	if err == nil && qs.err != nil {
		err = qs.err
	}
	return err
}

// quotaStream reserves on the stream's request and hands the grant on in
// its context.
type quotaStream struct {
	grpc.ServerStream
	q     *interceptor
	ctx   context.Context
	grant *Grant
	err   error
}

// Context implements grpc.ServerStream: the handler sees the grant.
func (s *quotaStream) Context() context.Context { return s.ctx }

// RecvMsg implements grpc.ServerStream.
func (s *quotaStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	cr, ok := m.(*gatewayv1.CompleteRequest)
	if !ok || s.grant != nil {
		return nil
	}
	g, err := s.q.reserve(s.ctx, cr, true)
	if err != nil {
		s.err = err
		return err
	}
	s.grant, s.ctx = g, NewContext(s.ctx, g)
	return nil
}

// Grant is what the interceptors admitted a call with, handed to the
// service as an input (as auth hands it the client).
type Grant struct {
	// Reservation is what the call reserved; the call's answer commits it
	// (a no-op once committed or released).
	Reservation *quota.Reservation
	// FallbackVariant is the budget fallback variant the call goes on
	// with, its route's budget being exhausted; "" otherwise.
	FallbackVariant string
	// Request is what the call asks of a provider (messages, tools,
	// response format, reasoning), converted once for the token estimate
	// and taken over by the service; nil when it could not be converted.
	Request *providers.Request
}

type grantKey struct{}

// NewContext returns ctx carrying g.
func NewContext(ctx context.Context, g *Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// FromContext is the grant the interceptors made for the call in ctx, or
// nil.
func FromContext(ctx context.Context) *Grant {
	g, _ := ctx.Value(grantKey{}).(*Grant)
	return g
}

// reserve reserves what req may use, or refuses it.
func (q *interceptor) reserve(ctx context.Context, req *gatewayv1.CompleteRequest, stream bool) (_ *Grant, err error) {
	ctx, span := tracer.Start(ctx, spanQuota)
	defer func() { endSpan(span, err) }()
	client := auth.Anonymous()
	if c, ok := auth.FromContext(ctx); ok {
		client = c
	}
	// Only a schema that cannot be written as JSON fails, and validation
	// has refused it: the estimate then leaves that schema out, and the
	// service converts the request again to report the error.
	est, convErr := protoconv.Request(req)
	out := int64(DefaultReservedOutputTokens)
	if p := req.GetParams(); p != nil && p.MaxTokens != nil {
		out = int64(p.GetMaxTokens())
	}
	qr := quota.Request{
		Client: client.QuotaGroup, ClientName: client.Name,
		User: req.GetCaller().GetSubject(), Route: req.GetRoute(),
		EstimatedTokens: int64(quota.EstimateRequestTokens(req.GetModel().GetModel(), est)) + out,
		Stream:          stream,
	}
	g := &Grant{}
	if convErr == nil {
		g.Request = est
	}
	res, err := q.limiter.Reserve(ctx, qr)
	var ex *quota.ExceededError
	if errors.As(err, &ex) && (ex.Kind == quota.KindUSDPerDay || ex.Kind == quota.KindUSDPerMonth) && req.GetRoute() != "" {
		if v := q.fallbackFor(req.GetRoute()); v != "" {
			qr.IgnoreBudgets = true
			if res, err = q.limiter.Reserve(ctx, qr); err == nil {
				g.FallbackVariant = v
				q.log.InfoContext(ctx, "budget exhausted: serving the route's fallback variant",
					"route", req.GetRoute(), "variant", v, "limit", ex.Limit)
			}
		}
	}
	switch {
	case errors.As(err, &ex):
		_ = grpc.SetHeader(ctx, refusalHeaders(ex))
		return nil, gwerr.Err(err)
	case err != nil:
		return nil, gwerr.Err(&gwerr.StoreError{Store: "quota", Err: err})
	}
	if md := remainingHeaders(res.Remaining()); md != nil {
		// For a stream, ctx is the stream's: the header leaves with its
		// first message.
		_ = grpc.SetHeader(ctx, md)
	}
	g.Reservation = res
	return g, nil
}

// release releases what the call's grant reserved, unless its outcome
// settled it.
func (q *interceptor) release(ctx context.Context, g *Grant) {
	res := g.Reservation
	if err := res.Release(context.WithoutCancel(ctx)); err != nil {
		q.log.WarnContext(ctx, "quota release failed", "error", err.Error())
	}
}

// tracer is taken from the global provider: spans cost nothing until the
// process installs one.
var tracer = spans.Tracer("github.com/careerpath/llmgateway/quota/quotagrpc")

// spanQuota is the span of a reservation.
const spanQuota = "llmgateway.quota"

// endSpan ends span, marking it failed with err's gRPC code, if any.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(otelcodes.Error, gwerr.CodeName(err))
		span.SetAttributes(attribute.String("error.type", gwerr.CodeName(err)))
	}
	span.End()
}
