package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/careerpath/llmgateway/auth"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/telemetry"
)

// DefaultReservedOutputTokens is what a request without max_tokens reserves
// for its answer before the call; the reservation is reconciled with the
// real usage after it.
const DefaultReservedOutputTokens = 1024

// quotaInterceptors enforce rate_limits.json: each call reserves its
// request, its estimated tokens (prompt estimate plus max_tokens) and, for
// a stream, a stream slot before it runs; when it ends the reservation is
// reconciled with the tokens and cost the answer really had (refunding or
// charging the difference and adding the cost to the budgets), or released
// when it failed. A stream that outruns its reservation is charged in full
// at its end.
//
// A request refused only by an exhausted USD budget, on a route with a
// budget_fallback_variant, goes on instead on that (cheaper) variant,
// without the budget check; its cost is still added to the budget's spend.
func quotaInterceptors(l *quota.Limiter, fallbackFor func(route string) string, log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		cr, ok := req.(*gatewayv1.CompleteRequest)
		if !ok {
			return h(ctx, req)
		}
		g, err := reserve(ctx, l, cr, false, fallbackFor, log)
		if err != nil {
			return nil, err
		}
		resp, err := h(withGrant(ctx, g), req)
		release(ctx, log, g.res) // nothing, when the answer settled it
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if info.FullMethod != gatewayv1.LLMGateway_Stream_FullMethodName {
			return h(srv, ss)
		}
		qs := &quotaStream{ServerStream: ss, limiter: l, fallbackFor: fallbackFor, log: log, ctx: ss.Context()}
		err := h(srv, qs)
		if qs.grant != nil {
			release(ss.Context(), log, qs.grant.res) // nothing, when the answer settled it
		}
		if err == nil && qs.err != nil {
			err = qs.err
		}
		return err
	}
	return unary, stream
}

// quotaStream reserves on the stream's request and hands the grant on in
// its context.
type quotaStream struct {
	grpc.ServerStream
	limiter     *quota.Limiter
	fallbackFor func(string) string
	log         *slog.Logger
	ctx         context.Context
	grant       *grant
	err         error
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
	g, err := reserve(s.ctx, s.limiter, cr, true, s.fallbackFor, s.log)
	if err != nil {
		s.err = err
		return err
	}
	s.grant, s.ctx = g, withGrant(s.ctx, g)
	return nil
}

// grant is what the quota link admitted a call with, handed to the
// service as an input (as auth hands it the client): the reservation the
// call's outcome settles, and, when the route's budget is exhausted, the
// budget fallback variant it goes on with.
type grant struct {
	res     *quota.Reservation
	variant string
}

type grantKey struct{}

func withGrant(ctx context.Context, g *grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// grantOf is the grant the quota link made for the call in ctx, or nil.
func grantOf(ctx context.Context) *grant {
	g, _ := ctx.Value(grantKey{}).(*grant)
	return g
}

// fallbackVariant is the budget fallback variant the call goes on with,
// if any.
func (g *grant) fallbackVariant() string {
	if g == nil {
		return ""
	}
	return g.variant
}

// quotaSettler settles a call's reservation with what its answer used and
// cost; a call that failed is released by the quota link.
type quotaSettler struct{ log *slog.Logger }

// Outcome implements [Subscriber].
func (q quotaSettler) Outcome(ctx context.Context, o *Outcome) {
	if o.grant == nil || o.Err != nil {
		return
	}
	tokens := o.Usage.InputTokens + o.Usage.OutputTokens
	if err := o.grant.res.Commit(context.WithoutCancel(ctx), tokens, o.Cost.USD()); err != nil {
		q.log.WarnContext(ctx, "quota reconciliation failed", "error", err.Error())
	}
}

func reserve(ctx context.Context, l *quota.Limiter, req *gatewayv1.CompleteRequest, stream bool,
	fallbackFor func(string) string, log *slog.Logger) (_ *grant, err error) {
	ctx, span := tracer.Start(ctx, spanQuota)
	defer func() { endSpan(span, err) }()
	client := auth.Anonymous()
	if c, ok := auth.FromContext(ctx); ok {
		client = c
	}
	msgs := make([]providers.Message, len(req.GetMessages()))
	for i, m := range req.GetMessages() {
		msgs[i] = providers.Message{Role: role(m.GetRole()), Content: m.GetContent()}
	}
	out := int64(DefaultReservedOutputTokens)
	if p := req.GetParams(); p != nil && p.MaxTokens != nil {
		out = int64(p.GetMaxTokens())
	}
	qr := quota.Request{
		Client: client.QuotaGroup, ClientName: client.Name,
		User: req.GetCaller().GetSubject(), Route: req.GetRoute(),
		EstimatedTokens: int64(quota.EstimateTokens(req.GetModel().GetModel(), msgs)) + out,
		Stream:          stream,
	}
	g := &grant{}
	res, err := l.Reserve(ctx, qr)
	var ex *quota.ExceededError
	if errors.As(err, &ex) && (ex.Kind == quota.KindUSDPerDay || ex.Kind == quota.KindUSDPerMonth) && req.GetRoute() != "" {
		if v := fallbackFor(req.GetRoute()); v != "" {
			qr.IgnoreBudgets = true
			if res, err = l.Reserve(ctx, qr); err == nil {
				g.variant = v
				log.InfoContext(ctx, "budget exhausted: serving the route's fallback variant",
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
	g.res = res
	return g, nil
}

// remainingHeaders says, per dimension, what is left of the tightest limit
// that applied, in the names OpenAI's API uses: x-ratelimit-remaining-
// requests / -tokens (per minute), -streams, -usd (budget), with the
// matching -limit- and -reset- (seconds) headers.
func remainingHeaders(rs []quota.Remaining) metadata.MD {
	if len(rs) == 0 {
		return nil
	}
	var (
		tightest [len(headerDims)]quota.Remaining
		seen     [len(headerDims)]bool
		n        int
	)
	for _, r := range rs {
		d := headerDim(r.Kind)
		if d < 0 {
			continue
		}
		if !seen[d] || r.Remaining < tightest[d].Remaining {
			if !seen[d] {
				n++
			}
			tightest[d], seen[d] = r, true
		}
	}
	// The keys are lower case already: set directly, not through
	// MD.Set, which lower-cases each. One backing array holds the values.
	md := make(metadata.MD, 3*n)
	vals := make([]string, 3*n)
	for d, h := range headerDims {
		if !seen[d] {
			continue
		}
		r := &tightest[d]
		vals[0] = strconv.FormatFloat(r.Remaining, 'f', -1, 64)
		vals[1] = strconv.FormatFloat(r.Max, 'f', -1, 64)
		md[h.remaining], md[h.limit] = vals[0:1:1], vals[1:2:2]
		if r.Reset > 0 {
			vals[2] = strconv.FormatFloat(r.Reset.Seconds(), 'f', 3, 64)
			md[h.reset] = vals[2:3:3]
		}
		vals = vals[3:]
	}
	return md
}

// headerDims are the dimensions of the rate-limit headers, each with its
// header names.
var headerDims = [...]struct{ remaining, limit, reset string }{
	{"x-ratelimit-remaining-requests", "x-ratelimit-limit-requests", "x-ratelimit-reset-requests"},
	{"x-ratelimit-remaining-tokens", "x-ratelimit-limit-tokens", "x-ratelimit-reset-tokens"},
	{"x-ratelimit-remaining-streams", "x-ratelimit-limit-streams", "x-ratelimit-reset-streams"},
	{"x-ratelimit-remaining-usd", "x-ratelimit-limit-usd", "x-ratelimit-reset-usd"},
}

// headerDim is the index in headerDims of a counter kind, -1 for none.
func headerDim(k quota.Kind) int {
	switch k {
	case quota.KindRequests:
		return 0
	case quota.KindTokens:
		return 1
	case quota.KindStreams:
		return 2
	case quota.KindUSDPerDay, quota.KindUSDPerMonth:
		return 3
	}
	return -1
}

// refusalHeaders are the rate-limit response headers of a refused
// request, which the REST shim and the compatible APIs pass on.
func refusalHeaders(ex *quota.ExceededError) metadata.MD {
	md := metadata.Pairs(
		"x-ratelimit-limit", strconv.FormatFloat(ex.Max, 'f', -1, 64),
		"x-ratelimit-remaining", strconv.FormatFloat(ex.Remaining, 'f', -1, 64),
		"x-ratelimit-scope", ex.Limit+"/"+ex.Kind.String(),
	)
	if !ex.TooLarge {
		md.Append("retry-after", gwerr.RetryAfter(ex.RetryAfter))
	}
	return md
}

func release(ctx context.Context, log *slog.Logger, res *quota.Reservation) {
	if err := res.Release(context.WithoutCancel(ctx)); err != nil {
		log.WarnContext(ctx, "quota release failed", "error", err.Error())
	}
}

// quotaObserver logs and counts what the limiter sees, and posts budget
// events to the operator's webhook. Counter keys name users, so they go
// to logs and the webhook only, never to metric labels.
type quotaObserver struct {
	log     *slog.Logger
	metrics *telemetry.Metrics
	webhook string
	client  *http.Client
}

// budgetEvent is the JSON body posted to the budget webhook.
type budgetEvent struct {
	Event     string    `json:"event"` // "budget_warning" (80%) or "budget_exhausted" (100%)
	Limit     string    `json:"limit"`
	Kind      string    `json:"kind"`
	Counter   string    `json:"counter"`
	Period    time.Time `json:"period"`
	Threshold float64   `json:"threshold"`
	SpentUSD  float64   `json:"spent_usd"`
	BudgetUSD float64   `json:"budget_usd"`
}

// post sends ev to the webhook in the background, bounded by a timeout;
// a failure is logged, never felt by the request that crossed the budget.
func (o quotaObserver) post(ev budgetEvent) {
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.webhook, bytes.NewReader(body))
		if err != nil {
			o.log.Warn("budget webhook failed", "error", err.Error())
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := o.client.Do(req)
		if err != nil {
			o.log.Warn("budget webhook failed", "error", err.Error())
			return
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			o.log.Warn("budget webhook refused the event", "status", resp.StatusCode)
		}
	}()
}

// Rejected implements quota.Observer.
func (o quotaObserver) Rejected(_ quota.Request, err *quota.ExceededError) {
	if o.metrics != nil {
		o.metrics.QuotaRejected(err.Limit, err.Kind.String())
	}
}

// BudgetCrossed implements quota.Observer.
func (o quotaObserver) BudgetCrossed(ev quota.BudgetEvent) {
	if o.metrics != nil {
		o.metrics.BudgetCrossed(ev.Limit, ev.Kind.String(), ev.Threshold)
	}
	o.log.Warn("budget threshold crossed", "limit", ev.Limit, "kind", ev.Kind.String(), "counter", ev.Key,
		"threshold", ev.Threshold, "spent_usd", ev.Spent, "budget_usd", ev.Budget)
	if o.webhook != "" {
		name := "budget_warning"
		if ev.Threshold >= quota.BudgetExhausted {
			name = "budget_exhausted"
		}
		o.post(budgetEvent{Event: name, Limit: ev.Limit, Kind: ev.Kind.String(), Counter: ev.Key,
			Period: ev.Period, Threshold: ev.Threshold, SpentUSD: ev.Spent, BudgetUSD: ev.Budget})
	}
}

// StoreError implements quota.Observer.
func (o quotaObserver) StoreError(err error, fellBack bool) {
	if o.metrics != nil {
		o.metrics.QuotaStoreError(fellBack)
	}
	o.log.Warn("quota store failed", "error", err.Error(), "fell_back_to_memory", fellBack)
}

var _ quota.Observer = quotaObserver{}
