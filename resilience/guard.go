package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/failsafe-go/failsafe-go/retrypolicy"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/providers"
)

// Defaults for settings provider_settings.json leaves out.
const (
	DefaultMaxAttempts       = 3
	DefaultInitialBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff        = 5 * time.Second
	DefaultJitter            = 0.2
	DefaultFailureRate       = 0.5
	DefaultMinRequests       = 10
	DefaultBreakerWindow     = 30 * time.Second
	DefaultOpenFor           = 15 * time.Second
	DefaultHalfOpenProbes    = 3
	DefaultFirstTokenTimeout = 30 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
	// DefaultAttemptBudget stands for the attempt timeout of a provider
	// configured without one when a route's default timeout is worked out
	// (see [DefaultRouteTimeout]).
	DefaultAttemptBudget = 60 * time.Second
)

// Guard protects one provider instance. It is built once per
// configuration and shared by every route that uses the provider, so that
// its circuit breaker and concurrency limit see all of its traffic.
type Guard struct {
	name     string
	provider providers.Provider
	breaker  circuitbreaker.CircuitBreaker[*Answer]
	bulkhead bulkhead.Bulkhead[*Answer] // nil: no concurrency limit
	maxWait  time.Duration
	unary    failsafe.Executor[*Answer]
	stream   failsafe.Executor[*Answer]

	attemptTimeout    time.Duration
	firstTokenTimeout time.Duration
	idleTimeout       time.Duration
	hedge             failsafe.Policy[*Answer] // nil: no hedging
	attempts          AttemptObserver          // nil: the observer does not count attempts
	obs               Observer

	// settings are the provider's configuration, to tell whether a new
	// configuration may adopt this guard's state.
	settings config.Provider
	// maxAttempts and maxBackoff bound the default route timeout.
	maxAttempts int
	maxBackoff  time.Duration
	// maxRetryAfter is the longest Retry-After a retry waits for.
	maxRetryAfter time.Duration
	cooldowns     cooldown.Store
}

// newGuard builds the policies for provider p from its settings. When
// prev, the same provider's guard in the configuration being replaced,
// has the very same settings, the new guard adopts its state: circuit
// breaker, concurrency limit and hedging latency estimate.
func newGuard(name string, p providers.Provider, pc config.Provider, obs Observer, cd cooldown.Store, prev *Guard) *Guard {
	g := &Guard{name: name, provider: p, attemptTimeout: time.Duration(pc.Timeout),
		obs: obs, settings: pc, cooldowns: cd}
	g.attempts, _ = obs.(AttemptObserver)
	if prev != nil && !reflect.DeepEqual(prev.settings, pc) {
		prev = nil
	}

	rc := config.Retry{}
	if pc.Retry != nil {
		rc = *pc.Retry
	}
	attempts := orDefault(rc.MaxAttempts, DefaultMaxAttempts)
	initial := orDefault(time.Duration(rc.InitialBackoff), DefaultInitialBackoff)
	maxBackoff := orDefault(time.Duration(rc.MaxBackoff), DefaultMaxBackoff)
	jitter := rc.Jitter
	if pc.Retry == nil || rc.Jitter == 0 {
		jitter = DefaultJitter
	}
	g.maxAttempts, g.maxBackoff = attempts, maxBackoff
	g.maxRetryAfter = orDefault(time.Duration(rc.MaxRetryAfter), maxBackoff)
	retry := retrypolicy.NewBuilder[*Answer]().
		HandleIf(func(_ *Answer, err error) bool { return retryable(err) }).
		WithMaxAttempts(attempts).
		WithDelayFunc(func(exec failsafe.ExecutionAttempt[*Answer]) time.Duration {
			return retryDelay(exec.LastError(), exec.Attempts(), initial, maxBackoff, jitter)
		}).
		ReturnLastFailure().
		OnRetryScheduled(func(failsafe.ExecutionScheduledEvent[*Answer]) { obs.Retry(name) }).
		Build()

	if prev != nil {
		// The breaker goes on counting where it was, the bulkhead's
		// permits held by calls of the old configuration stay counted,
		// and the hedge keeps its latency estimate.
		g.breaker, g.bulkhead, g.hedge = prev.breaker, prev.bulkhead, prev.hedge
		obs.BreakerState(name, g.breaker.State())
	} else {
		g.breaker = newBreaker(name, pc, obs)
		obs.BreakerState(name, circuitbreaker.ClosedState)
		if pc.MaxConcurrency > 0 {
			g.bulkhead = bulkhead.NewBuilder[*Answer](uint(pc.MaxConcurrency)).
				WithMaxWaitTime(time.Duration(pc.MaxQueueWait)).Build()
		}
		if pc.Hedge != nil {
			g.hedge = newHedge(name, pc.Hedge, obs)
		}
	}

	// The bulkhead sits outside the breaker, so that a call refused for
	// want of a slot is not an observation of the provider's health.
	unary := []failsafe.Policy[*Answer]{retry}
	if g.bulkhead != nil {
		g.maxWait = time.Duration(pc.MaxQueueWait)
		unary = append(unary, g.bulkhead)
	}
	// The attempt timeout is a deadline on the attempt's context (see
	// complete), not a policy: failsafe's timeout waits for the attempt
	// to return all the same, and a deadline lets the provider see that
	// its own timeout is already in force.
	unary = append(unary, g.breaker)
	g.unary = failsafe.With(unary...)
	// A stream outlives the attempt that opened it: its concurrency permit
	// is held until it closes, the breaker hears its outcome when it ends
	// (see openStream), and its pace is watched by the first-token and
	// idle timeouts instead of an attempt timeout.
	g.stream = failsafe.With[*Answer](retry)

	g.firstTokenTimeout = DefaultFirstTokenTimeout
	if g.attemptTimeout > 0 {
		g.firstTokenTimeout = g.attemptTimeout
	}
	g.idleTimeout = DefaultIdleTimeout
	if s := pc.Stream; s != nil {
		g.firstTokenTimeout = orDefault(time.Duration(s.FirstToken), g.firstTokenTimeout)
		g.idleTimeout = orDefault(time.Duration(s.Idle), g.idleTimeout)
	}
	return g
}

// newBreaker builds the provider's failure-rate circuit breaker.
func newBreaker(name string, pc config.Provider, obs Observer) circuitbreaker.CircuitBreaker[*Answer] {
	bc := config.CircuitBreaker{}
	if pc.CircuitBreaker != nil {
		bc = *pc.CircuitBreaker
	}
	rate := bc.FailureRate
	if rate == 0 {
		rate = DefaultFailureRate
	}
	return circuitbreaker.NewBuilder[*Answer]().
		HandleIf(func(_ *Answer, err error) bool { return breakerFailure(err) }).
		WithFailureRateThreshold(rate, uint(orDefault(bc.MinRequests, DefaultMinRequests)),
			orDefault(time.Duration(bc.Window), DefaultBreakerWindow)).
		WithDelay(orDefault(time.Duration(bc.OpenFor), DefaultOpenFor)).
		WithSuccessThreshold(uint(orDefault(bc.HalfOpenProbes, DefaultHalfOpenProbes))).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) { obs.BreakerState(name, e.NewState) }).
		Build()
}

// newHedge builds the hedge policy of every chain whose primary is the
// provider: a second attempt, to the chain's first backup, when the
// provider has not answered after the configured delay or its observed
// latency quantile. The first success wins and cancels the other. The
// policy belongs to the provider, so that its latency estimate is the
// provider's and outlives a reload that does not change it.
func newHedge(name string, h *config.Hedge, obs Observer) failsafe.Policy[*Answer] {
	var b hedgepolicy.Builder[*Answer]
	if h.Quantile > 0 {
		b = hedgepolicy.NewBuilderWithDelayQuantile[*Answer](h.Quantile, 200, 20)
	} else {
		b = hedgepolicy.NewBuilderWithDelay[*Answer](time.Duration(h.Delay))
	}
	return b.WithMaxHedges(1).
		// Stop on the first success, and on a failure no other provider
		// can fix (a bad request): hedging it would only waste a call.
		CancelIf(func(a *Answer, err error) bool {
			return (err == nil && a != nil) || (err != nil && !failoverable(context.Background(), err))
		}).
		OnHedge(func(failsafe.ExecutionEvent[*Answer]) { obs.Hedge(name, false) }).
		Build()
}

// DefaultRouteTimeout is the timeout of a route that sets none, given the
// guards of its chain (primary and backups): what their timeouts and
// retries allow, no more. For each provider, every attempt its retry
// policy allows, each for its timeout (or [DefaultAttemptBudget]), plus
// its longest backoff between two of them.
func DefaultRouteTimeout(guards ...*Guard) time.Duration {
	var total time.Duration
	for _, g := range guards {
		per := orDefault(g.attemptTimeout, DefaultAttemptBudget)
		n := time.Duration(max(g.maxAttempts, 1))
		total += n*per + (n-1)*g.maxBackoff
	}
	return total
}

// Cooldown is how long the provider stays cooled down (skipped by every
// request) after answering 429 with a Retry-After; 0 when it is not, or
// when the cooldown store cannot be read.
func (g *Guard) Cooldown(ctx context.Context) time.Duration {
	if g.cooldowns == nil {
		return 0
	}
	d, err := g.cooldowns.Remaining(ctx, g.name)
	if err != nil {
		return 0
	}
	return d
}

// Name is the guarded provider's instance name.
func (g *Guard) Name() string { return g.name }

// BreakerState is the circuit breaker's current state.
func (g *Guard) BreakerState() circuitbreaker.State { return g.breaker.State() }

// BreakerMetrics are the breaker's counts in its current state.
func (g *Guard) BreakerMetrics() circuitbreaker.Metrics { return g.breaker.Metrics() }

// complete calls the provider for a unary answer under the guard's policies.
func (g *Guard) complete(ctx context.Context, r *Request, t Target, step Step) (*Answer, error) {
	start := time.Now()
	if err := g.cannotHonour(r, t, step); err != nil {
		return nil, err
	}
	if err := g.cooledDown(ctx, r, t, step); err != nil {
		return nil, err
	}
	ans, err := g.unary.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[*Answer]) (_ *Answer, err error) {
		attemptStart := time.Now()
		req := *r.Provider
		req.Model = t.Model
		actx, cancel := providers.AttemptContext(exec.Context(), g.attemptTimeout)
		defer cancel()
		actx, span := startAttempt(actx, t, step)
		resp, err := g.provider.Complete(actx, &req)
		var verdict *schemaVerdict
		if err == nil && r.gate != nil {
			if verdict, err = r.gate.check(g.name, &req, resp); err != nil {
				resp = nil
			}
		}
		defer func() {
			endAttempt(span, resp, err)
			g.observe(t, time.Since(attemptStart), err)
		}()
		if err != nil {
			if actx.Err() != nil && ctx.Err() == nil {
				// The attempt's own timeout fired, not the caller's.
				err = &providers.Error{Kind: providers.KindTimeout, Provider: g.name,
					Message: "attempt timed out after " + g.attemptTimeout.String(), Err: err}
			}
			g.hold(err)
			err = g.fitRetryAfter(ctx, err)
			r.record(Attempt{Target: t, Step: step, Kind: kindOf(err), Err: err, Duration: time.Since(attemptStart)})
			return nil, err
		}
		return &Answer{Response: resp, Step: step, Target: t, schema: verdict}, nil
	})
	return ans, g.blocked(r, t, step, start, err)
}

// observe reports one call to the provider to the attempt observer.
func (g *Guard) observe(t Target, d time.Duration, err error) {
	if g.attempts == nil {
		return
	}
	class := ""
	if err != nil {
		class = kindOf(err).String()
	}
	g.attempts.Attempt(t, d, class)
}

// cooledDown refuses, without calling the provider, a call to a provider
// that is cooled down: the chain moves on to its next step at once. A
// cooldown store that cannot be read cools nothing down.
func (g *Guard) cooledDown(ctx context.Context, r *Request, t Target, step Step) error {
	left := g.Cooldown(ctx)
	if left <= 0 {
		return nil
	}
	g.obs.Cooldown(g.name, left, true)
	err := &providers.Error{Kind: providers.KindRateLimited, Provider: g.name, RetryAfter: left,
		Code: CooldownCode, Message: "cooling down for " + left.Round(time.Millisecond).String() + " after a 429 with Retry-After"}
	r.record(Attempt{Target: t, Step: step, Kind: err.Kind, Err: err})
	return err
}

// CooldownCode is the [providers.Error] Code of a call refused because the
// provider is cooled down.
const CooldownCode = "cooldown"

// cannotHonour refuses, without calling the provider, a backup that
// cannot honour a feature the request needs for the target's model (a
// tool, an image, a reasoning setting): the chain moves on to its next
// step instead of failing a request the primary could have answered. The
// primary's own refusal is the gateway's, before anything is sent.
func (g *Guard) cannotHonour(r *Request, t Target, step Step) error {
	if step == StepPrimary || r.Provider == nil {
		return nil
	}
	req := *r.Provider
	req.Model = t.Model
	missing := providers.Unsupported(g.provider, &req)
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, f := range missing {
		names[i] = string(f)
	}
	err := &providers.Error{Kind: providers.KindUnavailable, Provider: g.name, Code: providers.CodeUnsupported,
		Message: "cannot honour " + strings.Join(names, ", ") + " for model " + t.Model}
	r.record(Attempt{Target: t, Step: step, Kind: err.Kind, Err: err})
	return err
}

// hold cools the provider down when err is a 429 with a Retry-After, for
// every request (on every replica sharing the cooldown store).
func (g *Guard) hold(err error) {
	pe, ok := providers.AsError(err)
	if !ok || pe.Kind != providers.KindRateLimited || pe.RetryAfter <= 0 || g.cooldowns == nil {
		return
	}
	// The caller may be gone already; the cooldown is for the others.
	if g.cooldowns.Hold(context.Background(), g.name, pe.RetryAfter) == nil {
		g.obs.Cooldown(g.name, pe.RetryAfter, false)
	}
}

// fitRetryAfter turns a Retry-After longer than the provider's
// max_retry_after, or that does not fit in the caller's deadline, into an
// immediate failover: nobody sleeps it out.
func (g *Guard) fitRetryAfter(ctx context.Context, err error) error {
	pe, ok := providers.AsError(err)
	if !ok || pe.RetryAfter <= 0 {
		return err
	}
	if pe.RetryAfter > g.maxRetryAfter {
		return &errFailoverNow{err}
	}
	if dl, ok := callerDeadline(ctx); ok && time.Until(dl) <= pe.RetryAfter {
		return &errFailoverNow{err}
	}
	return err
}

type deadlineKey struct{}

// WithCallerDeadline tells the chain the deadline of the caller it works
// for, when ctx itself carries another (work shared by several callers
// runs on a context of its own), so that a Retry-After is only waited for
// when the caller can still use the answer.
func WithCallerDeadline(ctx context.Context, deadline time.Time) context.Context {
	return context.WithValue(ctx, deadlineKey{}, deadline)
}

// callerDeadline is the earlier of the caller's deadline (see
// [WithCallerDeadline]) and ctx's own.
func callerDeadline(ctx context.Context) (time.Time, bool) {
	own, hasOwn := ctx.Deadline()
	if dl, ok := ctx.Value(deadlineKey{}).(time.Time); ok {
		if hasOwn && own.Before(dl) {
			return own, true
		}
		return dl, true
	}
	return own, hasOwn
}

// blocked records an attempt that the policies refused before calling the
// provider (open breaker, full bulkhead) and turns failsafe's sentinel
// errors into typed provider errors.
func (g *Guard) blocked(r *Request, t Target, step Step, start time.Time, err error) error {
	var pe *providers.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, circuitbreaker.ErrOpen):
		pe = &providers.Error{Kind: providers.KindUnavailable, Provider: g.name, Message: "circuit breaker open", Err: err}
	case errors.Is(err, bulkhead.ErrFull):
		pe = &providers.Error{Kind: providers.KindOverloaded, Provider: g.name, Message: "concurrency limit reached", Err: err}
	default:
		return err
	}
	r.record(Attempt{Target: t, Step: step, Kind: pe.Kind, Err: pe, Duration: time.Since(start)})
	return pe
}

// retryDelay is exponential backoff with jitter, or the provider's
// Retry-After when it gave one.
func retryDelay(last error, attempts int, initial, maxBackoff time.Duration, jitter float64) time.Duration {
	if pe, ok := providers.AsError(last); ok && pe.RetryAfter > 0 {
		return pe.RetryAfter
	}
	d := initial
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	if jitter > 0 {
		d = time.Duration(float64(d) * (1 + jitter*(2*rand.Float64()-1)))
	}
	return d
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
