package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/console"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/quota/quotagrpc"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
	"github.com/careerpath/llmgateway/telemetry"
	ledger "github.com/careerpath/llmgateway/usage"
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
	fanout      atomic.Pointer[[]Subscriber]
	log         *slog.Logger
	metrics     *telemetry.Metrics // nil: no metrics
	content     bool               // prompts and answers on spans
	console     *console.Console   // nil: no console
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
	var stored <-chan struct{} // closed once a miss's answer is in the cache
	// Published before the answer leaves: Feedback on this replica waits
	// for what the experiment recorder queued, so that feedback on the
	// answer always finds its attribution.
	defer func() {
		o.Err, o.Latency = err, time.Since(o.start)
		s.publish(ctx, o)
		if stored != nil {
			// The answer leaves once it is in the cache, for every
			// replica to find; the quota settled in the meantime.
			select {
			case <-stored:
			case <-ctx.Done():
			}
		}
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
	o.Cacheable = cacheable
	var mark cache.Mark
	if cacheable {
		mark = rt.group.Mark()
		if e, ok := s.lookup(ctx, plan); ok {
			o.SchemaCheck = hitSchemaCheck(preq)
			return cachedResponse(o, e.Response(), hitAccounting(e.Provider, e.Model)), nil
		}
		r.Stale = cache.StaleFunc(s.cache, plan.key)
	}
	upStart := time.Now()
	var ans *resilience.Answer
	shared := false
	if cacheable {
		ans, shared, stored, err = s.completeCached(ctx, &rt.group, mark, rt.chain(d), r, plan)
	} else {
		ans, err = rt.chain(d).Complete(ctx, r)
	}
	upstream := time.Since(upStart)
	if err != nil {
		return nil, err
	}
	o.SchemaCheck = schemaCheck(ans)
	if shared && ans.Step == resilience.StepPrimary {
		// Coalesced with an identical request in flight: this caller's
		// answer cost nothing upstream.
		o.SchemaCheck = hitSchemaCheck(preq)
		return cachedResponse(o, ans.Response, hitAccounting(ans.Target.Provider, ans.Target.Model)), nil
	}
	resp := ans.Response
	a := account(rt, d, ans, resp.Usage)
	o.fill(resp, a, 0, r.Attempts(), upstream)
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
	o.Cacheable = cacheable
	var (
		st   providers.Stream
		ans  *resilience.Answer
		hit  *cache.Entry
		kept answerBuilder // the answer, kept to be cached
	)
	if cacheable {
		if e, ok := s.lookup(ctx, plan); ok {
			hit = &e
			st = replay(e.Response(), replayChunk)
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
			st = replay(ans.Response, -1)
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
		if c.Delta != "" || c.ToolCall != nil || c.Thinking != nil {
			if o.TTFT == 0 {
				o.TTFT = time.Since(o.start)
			}
			if err := ss.Send(&gatewayv1.StreamResponse{Delta: c.Delta,
				ToolCall: protoconv.ToolCallDelta(c.ToolCall), Thinking: protoconv.ThinkingDelta(c.Thinking)}); err != nil {
				return err
			}
			if store {
				kept.add(c)
			}
		}
		if !c.Done {
			continue
		}
		upstream := time.Since(upStart)
		resp := &providers.Response{ID: c.ID, Model: c.Model, FinishReason: c.FinishReason, Usage: c.Usage}
		var acct accounting
		var saved ledger.Nanos
		if hit != nil {
			acct, upstream = hitAccounting(hit.Provider, hit.Model), 0
			resp.ID = ""
			saved = ledger.Nanos(d.Price.CostNanos(resp.Usage))
		} else {
			acct = account(rt, d, ans, c.Usage)
		}
		if hit != nil {
			o.SchemaCheck = hitSchemaCheck(preq)
		} else {
			o.SchemaCheck = schemaCheck(ans)
		}
		if store && o.SchemaCheck != gatewayv1.SchemaCheck_SCHEMA_CHECK_UNCHECKED {
			kc := c
			kc.Model = modelName(ans.Target.Model, c.Model)
			if kr := kept.response(kc); cache.Storable(kr) {
				_ = s.cache.Set(ctx, plan.key, cache.NewEntry(ans.Target.Provider, kr), plan.ttl, plan.maxStale)
			}
		}
		attempts := r.Attempts()
		if hit != nil {
			attempts = nil
		}
		o.fill(resp, acct, saved, attempts, upstream)
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

// decide picks where o's request goes and notes it on o. Forcing a
// variant needs a client allowed to; without authentication every caller
// is. A request the quota link admitted on its route's budget fallback
// variant goes there.
func (s *Service) decide(ctx context.Context, rt *Runtime, o *Outcome) (d *routing.Decision, err error) {
	ctx, span := tracer.Start(ctx, spanRouting)
	defer func() {
		if err == nil {
			o.Decision = d
		}
		endRouting(span, d, err)
	}()
	req := o.Request
	if m := req.GetModel(); m != nil {
		return chatOnly(rt.Router.Direct(m.GetProvider(), m.GetModel()))
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
	return chatOnly(rt.Router.Select(sel))
}

// providerRequest translates req for the provider d chose: the variant's
// system prompt and templates rendered with the caller's variables and
// enrichment record, then the caller's messages, with the variant's
// generation defaults under the caller's own parameters.
func providerRequest(d *routing.Decision, req *gatewayv1.CompleteRequest, g *quotagrpc.Grant) (*providers.Request, error) {
	// The quota link converted the request for its estimate already.
	var conv *providers.Request
	if g != nil && g.Request != nil {
		conv = g.Request
	} else {
		var err error
		if conv, err = protoconv.Request(req); err != nil {
			return nil, err
		}
	}
	msgs, err := d.Messages(routing.Prompt{Vars: req.GetVariables(), Tags: req.GetCaller().GetTags(), Messages: conv.Messages})
	if err != nil {
		return nil, err
	}
	// The caller's tools, response format and reasoning stay as converted;
	// the route adds its model, prompt and generation defaults.
	p := *conv
	p.Model, p.Messages = d.Model, msgs
	p.MaxTokens, p.Temperature, p.TopP = d.Params.MaxTokens, d.Params.Temperature, d.Params.TopP
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
	if err := refuseUnsupported(d.Provider, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
