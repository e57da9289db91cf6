package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
)

// Cache defaults, for routes that do not set their own.
const (
	DefaultCacheTTL      = 10 * time.Minute
	DefaultCacheMaxStale = 24 * time.Hour
	// MaxCallerCacheTTL bounds the TTL a caller may ask for.
	MaxCallerCacheTTL = 24 * time.Hour
	// replayChunk is the largest delta a cached answer is replayed in.
	replayChunk = 64
)

// cachePlan is how one request uses the answer cache.
type cachePlan struct {
	key           cache.Key
	ttl, maxStale time.Duration
}

// planCache decides whether the answer to req may be cached, and under
// which key: a request is cacheable when its temperature is 0, or its
// route caches every answer, or the caller asked for a TTL, unless the
// caller bypasses the cache or the route disables it. The key partitions
// by client, so that no client ever reads another's answers.
func planCache(ctx context.Context, rt *Runtime, d *routing.Decision, req *gatewayv1.CompleteRequest, preq *providers.Request) (cachePlan, bool) {
	cc := req.GetCache()
	if cc.GetBypass() {
		return cachePlan{}, false
	}
	var rc config.RouteCache
	if r, ok := rt.Config.Routes.Routes[d.Route]; ok && r.Cache != nil {
		rc = *r.Cache
	}
	if rc.Disabled {
		return cachePlan{}, false
	}
	deterministic := preq.Temperature != nil && *preq.Temperature == 0
	if !deterministic && !rc.Always && cc.GetTtl() == nil {
		return cachePlan{}, false
	}
	p := cachePlan{ttl: time.Duration(rc.TTL), maxStale: time.Duration(rc.MaxStale)}
	if p.ttl == 0 {
		p.ttl = DefaultCacheTTL
	}
	if p.maxStale == 0 {
		p.maxStale = DefaultCacheMaxStale
	}
	if cc.GetTtl() != nil {
		p.ttl = min(cc.GetTtl().AsDuration(), MaxCallerCacheTTL)
	}
	if p.ttl <= 0 {
		return cachePlan{}, false
	}
	client := config.AnonymousClient
	if c, ok := auth.FromContext(ctx); ok {
		client = c.Name
	}
	p.key = cache.NewKey(cache.KeyParts{
		Client: client, Route: d.Route, Variant: d.Variant,
		Provider: d.Provider.Name(), Model: d.Model, Request: preq,
	})
	return p, true
}

// notFresh carries an answer that must not be cached (stale or degraded)
// out of a coalesced call to every caller that shared it.
type notFresh struct{ ans *resilience.Answer }

func (*notFresh) Error() string { return "answer not cacheable" }

// completeCached answers a cacheable request whose lookup, after mark,
// missed: concurrent identical requests share one trip through the
// failover chain, whose fresh answer is stored. The first caller gets the
// chain's own answer; the others get it as a coalesced cache hit. The
// answer is stored once the callers have it, while the shared call still
// hands it to identical requests; stored is closed when it is, and the
// callers answer only then, having settled their quota meanwhile.
func (s *Service) completeCached(ctx context.Context, group *cache.Group, mark cache.Mark, chain *resilience.Chain, r *resilience.Request, p cachePlan) (_ *resilience.Answer, shared bool, stored <-chan struct{}, _ error) {
	var mine *resilience.Answer
	fresh := false // the work's entry comes from the chain, not the store
	callerDL, hasDL := ctx.Deadline()
	e, shared, stored, err := group.DoThen(ctx, p.key, func(ctx context.Context) (cache.Entry, error) {
		// An identical call may have stored the answer between this
		// caller's lookup and now; only then is it worth a second look.
		if group.FinishedSince(p.key, mark) {
			if e, st, _ := s.cache.Get(ctx, p.key); st == cache.Fresh {
				return e, nil
			}
		}
		if hasDL {
			// The shared work outlives any one caller; Retry-After
			// decisions still follow the first caller's deadline.
			ctx = resilience.WithCallerDeadline(ctx, callerDL)
		}
		ans, err := chain.Complete(ctx, r)
		if err != nil {
			return cache.Entry{}, err
		}
		mine = ans
		if ans.Step != resilience.StepPrimary && ans.Step != resilience.StepBackup ||
			ans.SchemaCheck() == resilience.SchemaUnchecked || !cache.Storable(ans.Response) {
			// An answer passed through unchecked is never stored, nor
			// one the cache cannot hold exactly.
			return cache.Entry{}, &notFresh{ans}
		}
		e := cache.NewEntry(ans.Target.Provider, ans.Response)
		if e.Model == "" {
			e.Model = ans.Target.Model
		}
		fresh = true
		return e, nil
	}, func(ctx context.Context, e cache.Entry) {
		if fresh {
			_ = s.cache.Set(ctx, p.key, e, p.ttl, p.maxStale) // failures are counted by the store's observer
		}
	})
	var nf *notFresh
	switch {
	case errors.As(err, &nf):
		return nf.ans, shared, stored, nil
	case err != nil:
		return nil, shared, stored, err
	case !shared && mine != nil:
		return mine, false, stored, nil
	}
	// A follower, or a leader whose re-check found the answer stored: a
	// cache hit either way.
	return &resilience.Answer{Response: e.Response(), Step: resilience.StepPrimary,
		Target: resilience.Target{Provider: e.Provider, Model: e.Model}}, true, stored, nil
}

// lookup returns a fresh cached answer for p, if there is one.
func (s *Service) lookup(ctx context.Context, p cachePlan) (cache.Entry, bool) {
	ctx, span := tracer.Start(ctx, spanCache)
	e, st, err := s.cache.Get(ctx, p.key) // a store failure is a miss; its observer counts it
	endCache(span, st, err)
	return e, st == cache.Fresh
}

// hitAccounting attributes an answer served from the cache: it cost
// nothing now.
func hitAccounting(provider, model string) accounting {
	return accounting{
		provider: provider, model: model,
		servedFrom: gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT,
		step:       gatewayv1.FailoverStep_FAILOVER_STEP_CACHE,
	}
}
