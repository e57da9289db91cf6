package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/fallback"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/providers"
)

// Set holds one [Guard] per provider instance of a configuration.
type Set struct {
	guards    map[string]*Guard
	obs       Observer
	cooldowns cooldown.Store
}

// SetOption configures [NewSet].
type SetOption func(*setOptions)

type setOptions struct {
	cooldowns cooldown.Store
	previous  *Set
}

// WithCooldowns keeps the cooldowns of providers that answered 429 with a
// Retry-After in store, which outlives configurations and may be shared by
// several replicas. Without it, a set keeps them in the store of the set
// it adopts (see [Adopting]), else in memory of its own.
func WithCooldowns(store cooldown.Store) SetOption {
	return func(o *setOptions) { o.cooldowns = store }
}

// Adopting carries the state of the configuration being replaced over to
// the new set: the guard of a provider whose settings in
// provider_settings.json are exactly the same keeps its circuit breaker
// (state and counts), its concurrency limit and its hedging latency
// estimate. A provider whose settings changed in any way starts afresh.
// prev may be nil.
func Adopting(prev *Set) SetOption {
	return func(o *setOptions) { o.previous = prev }
}

// NewSet builds a guard for every provider in cfg; provs must hold them
// all. obs may be nil.
func NewSet(cfg *config.Config, provs map[string]providers.Provider, obs Observer, opts ...SetOption) (*Set, error) {
	if obs == nil {
		obs = NopObserver{}
	}
	var o setOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.cooldowns != nil:
	case o.previous != nil:
		o.cooldowns = o.previous.cooldowns
	default:
		o.cooldowns = cooldown.NewMemoryStore()
	}
	s := &Set{guards: make(map[string]*Guard, len(provs)), obs: obs, cooldowns: o.cooldowns}
	for name, pc := range cfg.Providers.Providers {
		p, ok := provs[name]
		if !ok {
			return nil, fmt.Errorf("provider %q is not built", name)
		}
		var prev *Guard
		if o.previous != nil {
			prev = o.previous.guards[name]
		}
		s.guards[name] = newGuard(name, p, pc, obs, o.cooldowns, prev)
	}
	return s, nil
}

// Guard returns the named provider's guard.
func (s *Set) Guard(name string) (*Guard, bool) {
	g, ok := s.guards[name]
	return g, ok
}

// Guards returns every guard, for the admin API.
func (s *Set) Guards() map[string]*Guard { return s.guards }

// Chain is the failover chain of one route variant (or of one explicit
// provider and model): built once per configuration, run per request.
type Chain struct {
	route   string
	targets []Target
	guards  []*Guard
	unary   failsafe.Executor[*Answer]
	stream  failsafe.Executor[*Answer]
	obs     Observer
	timeout time.Duration
	// onMismatch is the route's on_schema_mismatch.
	onMismatch schemaPolicy
	gate       *gate
}

// ChainOption configures [Set.Chain].
type ChainOption func(*Chain)

// WithTimeout bounds every run of the chain (a unary answer, a stream's
// first token) to d, or the caller's deadline when that is earlier. 0
// means the default, [DefaultRouteTimeout] of the chain's providers.
func WithTimeout(d time.Duration) ChainOption {
	return func(c *Chain) { c.timeout = d }
}

// Chain builds the failover chain for route: primary first, then backups
// in order (a backup equal to an earlier target is skipped), then the
// stale cache, then degraded when it is not empty.
func (s *Set) Chain(route string, primary Target, backups []Target, degraded string, opts ...ChainOption) (*Chain, error) {
	c := &Chain{route: route, obs: s.obs, onMismatch: config.OnSchemaMismatchRetry}
	for _, opt := range opts {
		opt(c)
	}
	c.gate = &gate{route: route, policy: c.onMismatch}
	c.gate.obs, _ = s.obs.(SchemaObserver)
	for _, t := range append([]Target{primary}, backups...) {
		if containsTarget(c.targets, t) {
			continue
		}
		g, ok := s.guards[t.Provider]
		if !ok {
			return nil, fmt.Errorf("route %s: provider %q has no guard", route, t.Provider)
		}
		c.targets = append(c.targets, t)
		c.guards = append(c.guards, g)
	}

	// failsafe composes policies outermost first: the degraded answer
	// handles what the stale step could not, which handles what the last
	// backup could not, … which handles what the primary could not.
	var unary, stream []failsafe.Policy[*Answer]
	if degraded != "" {
		fb := c.fallback(StepDegraded, func(failsafe.Execution[*Answer]) (*Answer, error) {
			return &Answer{Step: StepDegraded, Response: &providers.Response{Text: degraded, FinishReason: providers.FinishStop}}, nil
		})
		unary, stream = append(unary, fb), append(stream, fb)
	}
	stale := c.fallback(StepStaleCache, func(exec failsafe.Execution[*Answer]) (*Answer, error) {
		if r := requestFrom(exec.Context()); r != nil && r.Stale != nil {
			if resp, ok := r.Stale(exec.Context()); ok {
				return &Answer{Step: StepStaleCache, Response: resp}, nil
			}
		}
		return nil, exec.LastError()
	})
	unary, stream = append(unary, stale), append(stream, stale)
	for i := len(c.targets) - 1; i >= 1; i-- {
		g, t, first := c.guards[i], c.targets[i], i == 1
		unary = append(unary, c.fallback(StepBackup, func(exec failsafe.Execution[*Answer]) (*Answer, error) {
			r := requestFrom(exec.Context())
			if first && r.hedged.Load() {
				// The hedge already asked this backup.
				return nil, exec.LastError()
			}
			return g.complete(exec.Context(), r, t, StepBackup)
		}))
		stream = append(stream, c.fallback(StepBackup, func(exec failsafe.Execution[*Answer]) (*Answer, error) {
			return g.openStream(exec.Context(), requestFrom(exec.Context()), t, StepBackup)
		}))
	}
	if c.timeout <= 0 {
		c.timeout = DefaultRouteTimeout(c.guards...)
	}
	if h := c.guards[0].hedge; h != nil && len(c.targets) > 1 {
		unary = append(unary, h)
	}
	c.unary = failsafe.With(unary...)
	c.stream = failsafe.With(stream...)
	return c, nil
}

// fallback is one step of the chain. It handles only failures that another
// step may do better on.
func (c *Chain) fallback(step Step, fn func(failsafe.Execution[*Answer]) (*Answer, error)) fallback.Fallback[*Answer] {
	return fallback.NewBuilderWithFunc(func(exec failsafe.Execution[*Answer]) (*Answer, error) {
		c.obs.Fallback(c.route, step)
		return fn(exec)
	}).HandleIf(func(_ *Answer, err error) bool {
		return err != nil && failoverable(context.Background(), err)
	}).Build()
}

// Complete runs the chain for a unary answer.
func (c *Chain) Complete(ctx context.Context, r *Request) (ans *Answer, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, span := c.startChain(ctx, false)
	defer func() { endChain(span, ans, err) }()
	r.gate = c.gate
	ans, err = c.unary.WithContext(withRequest(ctx, r)).GetWithExecution(func(exec failsafe.Execution[*Answer]) (*Answer, error) {
		if exec.IsHedge() {
			r.hedged.Store(true)
			a, err := c.guards[1].complete(exec.Context(), r, c.targets[1], StepBackup)
			if a != nil {
				a.Hedged = true
			}
			return a, err
		}
		return c.guards[0].complete(exec.Context(), r, c.targets[0], StepPrimary)
	})
	if err == nil && ans != nil && ans.Hedged {
		c.obs.Hedge(c.targets[0].Provider, true)
	}
	markUnchecked(ans, r.Provider)
	return c.result(ctx, ans, err)
}

// Stream runs the chain for a stream. The answer's Stream, if set, has
// its first token ready; a stale or degraded answer comes as a Response.
//
// The chain's timeout bounds the wait for the first token only: the
// stream that answers lives on, watched by its provider's idle timeout.
func (c *Chain) Stream(ctx context.Context, r *Request) (ans *Answer, err error) {
	ctx, span := c.startChain(ctx, true)
	defer func() { endChain(span, ans, err) }()
	ctx, end := c.openingTimeout(ctx)
	defer func() { ans, err = end(ans, err) }()
	r.gate = c.gate
	ans, err = c.stream.WithContext(withRequest(ctx, r)).GetWithExecution(func(exec failsafe.Execution[*Answer]) (*Answer, error) {
		return c.guards[0].openStream(exec.Context(), r, c.targets[0], StepPrimary)
	})
	markUnchecked(ans, r.Provider)
	ans, err = c.result(ctx, ans, err)
	// failsafe discards a result that arrives as the context ends; the
	// stream it opened still holds a connection and a concurrency permit.
	var keep providers.Stream
	if ans != nil {
		keep = ans.Stream
	}
	r.closeOthers(keep)
	return ans, err
}

// openingTimeout bounds the opening of a stream by the chain's timeout
// without bounding the stream itself. end must be called with the
// chain's result: it stops the clock, and hands the stream the duty of
// releasing its context when it is closed.
func (c *Chain) openingTimeout(parent context.Context) (context.Context, func(*Answer, error) (*Answer, error)) {
	ctx, cancel := context.WithCancelCause(parent)
	deadline := time.Now().Add(c.timeout)
	ctx = WithCallerDeadline(ctx, deadline)
	timer := time.AfterFunc(c.timeout, func() { cancel(context.DeadlineExceeded) })
	return ctx, func(ans *Answer, err error) (*Answer, error) {
		stopped := timer.Stop()
		if err != nil || ans == nil || ans.Stream == nil {
			cancel(context.Canceled)
			return ans, err
		}
		if !stopped {
			// The clock ran out as the first token arrived: the stream's
			// context is gone with it.
			_ = ans.Stream.Close()
			cancel(context.Canceled)
			return nil, context.DeadlineExceeded
		}
		ans.Stream = &releasingStream{Stream: ans.Stream, release: func() { cancel(context.Canceled) }}
		return ans, nil
	}
}

// releasingStream releases its context when closed.
type releasingStream struct {
	providers.Stream
	release func()
}

// Close implements providers.Stream.
func (s *releasingStream) Close() error {
	err := s.Stream.Close()
	s.release()
	return err
}

// result makes sure the chain never reports an empty success and that a
// caller who gave up hears about it as such.
func (c *Chain) result(ctx context.Context, ans *Answer, err error) (*Answer, error) {
	if err == nil && (ans == nil || (ans.Response == nil && ans.Stream == nil)) {
		err = errors.New("resilience: chain produced no answer")
	}
	if err != nil {
		if ctx.Err() != nil {
			// The chain's own timeout ends the context as a deadline.
			ctxErr := context.Cause(ctx)
			if errors.Is(err, ctxErr) {
				return nil, err
			}
			// Only the caller's error stays in the chain, so that it maps
			// to the caller's status; the last failure is kept as text.
			return nil, fmt.Errorf("%w (last failure: %s)", ctxErr, err.Error())
		}
		return nil, err
	}
	return ans, nil
}

// Targets lists the providers the chain may call, primary first.
func (c *Chain) Targets() []Target { return c.targets }

func containsTarget(ts []Target, t Target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
