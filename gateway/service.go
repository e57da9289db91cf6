package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/cache"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/quota/quotagrpc"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
	"github.com/careerpath/llmgateway/telemetry"
)

// Service implements the LLMGateway gRPC service. It returns domain errors;
// the interceptor chain maps them to gRPC statuses with [Status].
type Service struct {
	gatewayv1.UnimplementedLLMGatewayServer
	runtime     atomic.Pointer[Runtime]
	experiments *ExperimentService
	cache       cache.Store
	limiter     *quota.Limiter
	ledger      *Ledger
	fanout      []Subscriber
	log         *slog.Logger
	metrics     *telemetry.Metrics // nil: no metrics
	content     bool               // prompts and answers on spans
}

// Feedback implements gatewayv1.LLMGatewayServer.
func (s *Service) Feedback(ctx context.Context, req *gatewayv1.FeedbackRequest) (*gatewayv1.FeedbackResponse, error) {
	return s.experiments.Feedback(ctx, req)
}

// GetExperiment implements gatewayv1.LLMGatewayServer.
func (s *Service) GetExperiment(ctx context.Context, req *gatewayv1.GetExperimentRequest) (*gatewayv1.GetExperimentResponse, error) {
	return s.experiments.GetExperiment(ctx, req)
}

// NewService returns a bare service answering from rt, without quota,
// ledger, cache or experiments; [New] builds a whole one.
func NewService(rt *Runtime) *Service {
	s := &Service{log: slog.New(slog.DiscardHandler)}
	s.runtime.Store(rt)
	return s
}

// Swap makes rt the runtime for new requests. Requests in flight finish on
// the runtime they started with; the previous runtime is closed when the
// last of them is done.
func (s *Service) Swap(rt *Runtime) {
	if s.limiter != nil {
		s.limiter.Update(rt.Config.RateLimits)
	}
	if old := s.runtime.Swap(rt); old != nil && old != rt {
		old.retire()
	}
}

// acquire returns the current runtime, held until release: a request sees
// one configuration from start to end.
func (s *Service) acquire() *Runtime {
	for {
		rt := s.runtime.Load()
		rt.refs.Add(1)
		if s.runtime.Load() == rt {
			return rt
		}
		// Swapped between the load and the count: it may be closing.
		rt.release()
	}
}

// budgetFallbackVariant is the variant the named route falls back to once
// its budget is exhausted, in the current configuration.
func (s *Service) budgetFallbackVariant(route string) string {
	if r, ok := s.Runtime().Config.Routes.Routes[route]; ok {
		return r.BudgetFallbackVariant
	}
	return ""
}

// Close retires the current runtime: it is closed once the last request
// using it is done. Call it when the server has stopped.
func (s *Service) Close() {
	if rt := s.runtime.Load(); rt != nil {
		rt.retire()
	}
}

// Runtime returns the runtime new requests use.
func (s *Service) Runtime() *Runtime { return s.runtime.Load() }

// errStreamEnded is an upstream stream that ended without its final chunk.
var errStreamEnded = errors.New("upstream stream ended without a final chunk")

// Complete implements gatewayv1.LLMGatewayServer.
func (s *Service) Complete(ctx context.Context, req *gatewayv1.CompleteRequest) (_ *gatewayv1.CompleteResponse, err error) {
	o := s.begin(ctx, req, false)
	// Published before the answer leaves: Feedback on this replica waits
	// for what the experiment recorder queued, so that feedback on the
	// answer always finds its attribution.
	defer func() {
		o.Err, o.Latency = err, time.Since(o.start)
		s.publish(ctx, o)
	}()
	rt := s.acquire()
	defer rt.release()
	d, err := s.decide(ctx, rt, o)
	if err != nil {
		return nil, err
	}
	preq, err := providerRequest(d, req, o.grant)
	if err != nil {
		return nil, err
	}
	r := &resilience.Request{Provider: preq}
	plan, cacheable := planCache(ctx, rt, d, req, preq)
	if cacheable {
		if e, ok := s.lookup(ctx, plan); ok {
			return cachedResponse(ctx, o, e.Response(), hitAccounting(e.Provider, e.Model)), nil
		}
		r.Stale = cache.StaleFunc(s.cache, plan.key)
	}
	upStart := time.Now()
	var ans *resilience.Answer
	shared := false
	if cacheable {
		ans, shared, err = s.completeCached(ctx, &rt.group, rt.chain(d), r, plan)
	} else {
		ans, err = rt.chain(d).Complete(ctx, r)
	}
	upstream := time.Since(upStart)
	if err != nil {
		return nil, err
	}
	if shared && ans.Step == resilience.StepPrimary {
		// Coalesced with an identical request in flight: this caller's
		// answer cost nothing upstream.
		return cachedResponse(ctx, o, ans.Response, hitAccounting(ans.Target.Provider, ans.Target.Model)), nil
	}
	resp := ans.Response
	a := account(rt, d, ans, resp.Usage)
	o.fill(resp, a, 0, r.Attempts(), upstream)
	noteAnswer(ctx, a, 0)
	return completeResponse(o, resp), nil
}

// Stream implements gatewayv1.LLMGatewayServer.
func (s *Service) Stream(req *gatewayv1.CompleteRequest, ss gatewayv1.LLMGateway_StreamServer) (err error) {
	ctx := ss.Context()
	o := s.begin(ctx, req, true)
	defer func() {
		// A stream that was answered published before its final message;
		// this is one that failed.
		o.Err, o.Latency = err, time.Since(o.start)
		s.publish(ctx, o)
	}()
	rt := s.acquire()
	defer rt.release()
	d, err := s.decide(ctx, rt, o)
	if err != nil {
		return err
	}
	preq, err := providerRequest(d, req, o.grant)
	if err != nil {
		return err
	}
	r := &resilience.Request{Provider: preq}
	plan, cacheable := planCache(ctx, rt, d, req, preq)
	var (
		st   providers.Stream
		ans  *resilience.Answer
		hit  *cache.Entry
		text strings.Builder // the answer, kept to be cached
	)
	if cacheable {
		if e, ok := s.lookup(ctx, plan); ok {
			hit = &e
			st = replay(e.Response(), e.Chunks(replayChunk))
		} else {
			r.Stale = cache.StaleFunc(s.cache, plan.key)
		}
	}
	upStart := time.Now()
	if hit == nil {
		if ans, err = rt.chain(d).Stream(ctx, r); err != nil {
			return err
		}
		if ans.Stream != nil {
			st = ans.Stream
		} else {
			st = replay(ans.Response, nil)
		}
	}
	// Only an answer streamed fresh from a provider is stored.
	store := cacheable && hit == nil && ans.Stream != nil
	defer func() { _ = st.Close() }()

	// Each delta is a message of its own: an in-process caller keeps
	// what SendMsg hands it.
	for {
		c, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return &providers.Error{Kind: providers.KindTruncated, Message: errStreamEnded.Error()}
		}
		if err != nil {
			return err
		}
		if c.Delta != "" {
			if o.TTFT == 0 {
				o.TTFT = time.Since(o.start)
			}
			if err := ss.Send(&gatewayv1.StreamResponse{Delta: c.Delta}); err != nil {
				return err
			}
			if store {
				text.WriteString(c.Delta)
			}
		}
		if !c.Done {
			continue
		}
		upstream := time.Since(upStart)
		resp := &providers.Response{ID: c.ID, Model: c.Model, FinishReason: c.FinishReason, Usage: c.Usage}
		var acct accounting
		saved := 0.0
		if hit != nil {
			acct, upstream = hitAccounting(hit.Provider, hit.Model), 0
			resp.ID = ""
			saved = d.Price.Cost(resp.Usage)
		} else {
			acct = account(rt, d, ans, c.Usage)
		}
		if store {
			e := cache.NewEntry(ans.Target.Provider, &providers.Response{ID: c.ID, Model: modelName(ans.Target.Model, c.Model),
				Text: text.String(), FinishReason: c.FinishReason, Usage: c.Usage})
			_ = s.cache.Set(ctx, plan.key, e, plan.ttl, plan.maxStale)
		}
		attempts := r.Attempts()
		if hit != nil {
			attempts = nil
		}
		o.fill(resp, acct, saved, attempts, upstream)
		noteAnswer(ctx, acct, saved)
		final := finalMessage(completeResponse(o, resp), o.TTFT)
		// The answer was produced and billed, whether or not its final
		// message reaches the caller.
		o.Latency = time.Since(o.start)
		s.publish(ctx, o)
		return ss.Send(final)
	}
}

// begin starts the outcome of a call: the request, the client, and the
// quota grant the quota link made for it.
func (s *Service) begin(ctx context.Context, req *gatewayv1.CompleteRequest, stream bool) *Outcome {
	return &Outcome{Stream: stream, Request: req, Client: clientName(ctx), grant: quotagrpc.FromContext(ctx), start: time.Now()}
}

// cachedResponse is the response for an answer served from the cache (or
// shared with an identical request): a fresh response id, zero cost, and
// as saving what it would have cost from the provider routing chose.
func cachedResponse(ctx context.Context, o *Outcome, resp *providers.Response, a accounting) *gatewayv1.CompleteResponse {
	hit := *resp
	hit.ID = ""
	saved := o.Decision.Price.Cost(hit.Usage)
	o.fill(&hit, a, saved, nil, 0)
	noteAnswer(ctx, a, saved)
	return completeResponse(o, &hit)
}

// completeResponse is the account of an answer: its text and usage, who
// answered it, what it cost, how it was produced and how long it took,
// as o says. A stream's final message carries the same (see
// finalMessage). It fills in o's response id.
func completeResponse(o *Outcome, resp *providers.Response) *gatewayv1.CompleteResponse {
	o.ResponseID = responseID(resp.ID)
	elapsed := time.Since(o.start)
	return &gatewayv1.CompleteResponse{
		Id:              o.ResponseID,
		Text:            resp.Text,
		FinishReason:    finishReason(resp.FinishReason),
		Usage:           usage(o.Usage),
		Provider:        o.Provider,
		Model:           o.Model,
		Route:           o.Decision.Route,
		Variant:         o.Decision.Variant,
		CostUsd:         o.Cost.USD(),
		UpstreamLatency: durationpb.New(o.Upstream),
		GatewayOverhead: durationpb.New(elapsed - o.Upstream),
		ServedFrom:      o.ServedFrom,
		Step:            o.Step,
		FailedAttempts:  failedAttempts(o.Attempts),
	}
}

// finalMessage is a stream's last message: the same account as a unary
// response, without the text (already sent in deltas), plus the time to
// the first token.
func finalMessage(c *gatewayv1.CompleteResponse, ttft time.Duration) *gatewayv1.StreamResponse {
	return &gatewayv1.StreamResponse{
		Done:             true,
		Id:               c.Id,
		FinishReason:     c.FinishReason,
		Usage:            c.Usage,
		Provider:         c.Provider,
		Model:            c.Model,
		Route:            c.Route,
		Variant:          c.Variant,
		CostUsd:          c.CostUsd,
		GatewayOverhead:  c.GatewayOverhead,
		UpstreamLatency:  c.UpstreamLatency,
		ServedFrom:       c.ServedFrom,
		TimeToFirstToken: durationpb.New(ttft),
		Step:             c.Step,
		FailedAttempts:   c.FailedAttempts,
	}
}

// accounting is who answered and what it cost.
type accounting struct {
	provider, model string
	cost            float64
	servedFrom      gatewayv1.ServedFrom
	step            gatewayv1.FailoverStep
}

// account attributes an answer: the provider and model that produced it,
// its cost at that model's price, and the failover step.
func account(rt *Runtime, d *routing.Decision, ans *resilience.Answer, u providers.Usage) accounting {
	a := accounting{servedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH, step: failoverStep(ans.Step)}
	switch ans.Step {
	case resilience.StepStaleCache:
		a.servedFrom = gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE
		return a // nothing is known of its origin, and it costs nothing now
	case resilience.StepDegraded:
		a.servedFrom = gatewayv1.ServedFrom_SERVED_FROM_DEGRADED
		return a
	}
	a.provider, a.model = ans.Target.Provider, ans.Target.Model
	price := d.Price
	if a.provider != d.Provider.Name() || a.model != d.Model {
		if td, err := rt.Router.Direct(a.provider, a.model); err == nil {
			price = td.Price
		}
	}
	a.cost = price.Cost(u)
	return a
}

func failedAttempts(as []resilience.Attempt) []*gatewayv1.FailedAttempt {
	if len(as) == 0 {
		return nil
	}
	out := make([]*gatewayv1.FailedAttempt, len(as))
	for i, a := range as {
		out[i] = &gatewayv1.FailedAttempt{
			Provider:  a.Target.Provider,
			Model:     a.Target.Model,
			Step:      failoverStep(a.Step),
			ErrorKind: a.Kind.String(),
			Duration:  durationpb.New(a.Duration),
		}
	}
	return out
}

func failoverStep(s resilience.Step) gatewayv1.FailoverStep {
	switch s {
	case resilience.StepBackup:
		return gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP
	case resilience.StepStaleCache:
		return gatewayv1.FailoverStep_FAILOVER_STEP_STALE_CACHE
	case resilience.StepDegraded:
		return gatewayv1.FailoverStep_FAILOVER_STEP_DEGRADED
	}
	return gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY
}

// decide picks where o's request goes and notes it on o. Forcing a
// variant needs a client allowed to; without authentication every caller
// is. A request the quota link admitted on its route's budget fallback
// variant goes there.
func (s *Service) decide(ctx context.Context, rt *Runtime, o *Outcome) (d *routing.Decision, err error) {
	ctx, span := tracer.Start(ctx, spanRouting)
	defer func() {
		if err == nil {
			o.Decision = d
			noteDecision(ctx, d)
		}
		endRouting(span, d, err)
	}()
	req := o.Request
	if m := req.GetModel(); m != nil {
		return rt.Router.Direct(m.GetProvider(), m.GetModel())
	}
	client, _ := auth.FromContext(ctx)
	sel := routing.Selection{
		Route:        req.GetRoute(),
		Subject:      req.GetCaller().GetSubject(),
		ForceVariant: req.GetForceVariant(),
		ForceAllowed: client != nil && client.AllowForcedVariant,
	}
	if g := o.grant; g != nil && g.FallbackVariant != "" {
		// The route's budget is exhausted: its cheaper variant answers.
		sel.ForceVariant, sel.ForceAllowed = g.FallbackVariant, true
		o.Downgraded = true
	}
	return rt.Router.Select(sel)
}

// providerRequest translates req for the provider d chose: the variant's
// system prompt and templates rendered with the caller's variables and
// enrichment record, then the caller's messages, with the variant's
// generation defaults under the caller's own parameters.
func providerRequest(d *routing.Decision, req *gatewayv1.CompleteRequest, g *quotagrpc.Grant) (*providers.Request, error) {
	// The quota link converted the messages for its estimate already.
	var in []providers.Message
	if g != nil {
		in = g.Messages
	} else {
		in = quotagrpc.Messages(req)
	}
	msgs, err := d.Messages(routing.Prompt{Vars: req.GetVariables(), Tags: req.GetCaller().GetTags(), Messages: in})
	if err != nil {
		return nil, err
	}
	p := &providers.Request{
		Model:       d.Model,
		Messages:    msgs,
		MaxTokens:   d.Params.MaxTokens,
		Temperature: d.Params.Temperature,
		TopP:        d.Params.TopP,
	}
	if gp := req.GetParams(); gp != nil {
		if gp.MaxTokens != nil {
			p.MaxTokens = int(gp.GetMaxTokens())
		}
		if gp.Temperature != nil {
			p.Temperature = gp.Temperature
		}
		if gp.TopP != nil {
			p.TopP = gp.TopP
		}
		p.Stop = gp.GetStop()
		p.Seed = gp.Seed
	}
	return p, nil
}

func finishReason(f providers.FinishReason) gatewayv1.FinishReason {
	switch f {
	case providers.FinishStop:
		return gatewayv1.FinishReason_FINISH_REASON_STOP
	case providers.FinishLength:
		return gatewayv1.FinishReason_FINISH_REASON_LENGTH
	case providers.FinishContentFilter:
		return gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER
	case providers.FinishToolCalls:
		return gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS
	}
	return gatewayv1.FinishReason_FINISH_REASON_UNSPECIFIED
}

func usage(u providers.Usage) *gatewayv1.Usage {
	return &gatewayv1.Usage{
		InputTokens:              clamp32(u.InputTokens),
		OutputTokens:             clamp32(u.OutputTokens),
		CachedInputTokens:        clamp32(u.CachedInputTokens),
		CacheCreationInputTokens: clamp32(u.CacheCreationInputTokens),
	}
}

// modelName prefers the model the provider reports (it may be a dated
// snapshot of the alias we asked for).
func modelName(asked, reported string) string {
	if reported != "" {
		return reported
	}
	return asked
}

// responseID is the provider's id, or a fresh gateway id when it sent none.
func responseID(upstream string) string {
	if upstream != "" {
		return upstream
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "gw-" + hex.EncodeToString(b[:])
}

// clamp32 narrows a token count for the wire; no single answer comes near
// the limit, but a corrupt upstream count must not wrap negative.
func clamp32(n int64) int32 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxInt32:
		return math.MaxInt32
	}
	return int32(n)
}
