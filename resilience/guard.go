package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/careerpath/llmgateway/config"
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
	// MaxRetryAfter is the longest Retry-After the gateway waits for even
	// when the caller's deadline would allow more.
	MaxRetryAfter = 30 * time.Second
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
	hedge             *config.Hedge
	attempts          AttemptObserver // nil: the observer does not count attempts
}

// newGuard builds the policies for provider p from its settings.
func newGuard(name string, p providers.Provider, pc config.Provider, obs Observer) *Guard {
	g := &Guard{name: name, provider: p, hedge: pc.Hedge, attemptTimeout: time.Duration(pc.Timeout)}
	g.attempts, _ = obs.(AttemptObserver)

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
	retry := retrypolicy.NewBuilder[*Answer]().
		HandleIf(func(_ *Answer, err error) bool { return retryable(err) }).
		WithMaxAttempts(attempts).
		WithDelayFunc(func(exec failsafe.ExecutionAttempt[*Answer]) time.Duration {
			return retryDelay(exec.LastError(), exec.Attempts(), initial, maxBackoff, jitter)
		}).
		ReturnLastFailure().
		OnRetryScheduled(func(failsafe.ExecutionScheduledEvent[*Answer]) { obs.Retry(name) }).
		Build()

	bc := config.CircuitBreaker{}
	if pc.CircuitBreaker != nil {
		bc = *pc.CircuitBreaker
	}
	rate := bc.FailureRate
	if rate == 0 {
		rate = DefaultFailureRate
	}
	g.breaker = circuitbreaker.NewBuilder[*Answer]().
		HandleIf(func(_ *Answer, err error) bool { return breakerFailure(err) }).
		WithFailureRateThreshold(rate, uint(orDefault(bc.MinRequests, DefaultMinRequests)),
			orDefault(time.Duration(bc.Window), DefaultBreakerWindow)).
		WithDelay(orDefault(time.Duration(bc.OpenFor), DefaultOpenFor)).
		WithSuccessThreshold(uint(orDefault(bc.HalfOpenProbes, DefaultHalfOpenProbes))).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) { obs.BreakerState(name, e.NewState) }).
		Build()
	obs.BreakerState(name, circuitbreaker.ClosedState)

	// The bulkhead sits outside the breaker, so that a call refused for
	// want of a slot is not an observation of the provider's health.
	unary := []failsafe.Policy[*Answer]{retry}
	if pc.MaxConcurrency > 0 {
		g.bulkhead = bulkhead.NewBuilder[*Answer](uint(pc.MaxConcurrency)).
			WithMaxWaitTime(time.Duration(pc.MaxQueueWait)).Build()
		g.maxWait = time.Duration(pc.MaxQueueWait)
		unary = append(unary, g.bulkhead)
	}
	unary = append(unary, g.breaker)
	if g.attemptTimeout > 0 {
		unary = append(unary, timeout.New[*Answer](g.attemptTimeout))
	}
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

// Name is the guarded provider's instance name.
func (g *Guard) Name() string { return g.name }

// BreakerState is the circuit breaker's current state.
func (g *Guard) BreakerState() circuitbreaker.State { return g.breaker.State() }

// BreakerMetrics are the breaker's counts in its current state.
func (g *Guard) BreakerMetrics() circuitbreaker.Metrics { return g.breaker.Metrics() }

// complete calls the provider for a unary answer under the guard's policies.
func (g *Guard) complete(ctx context.Context, r *Request, t Target, step Step) (*Answer, error) {
	start := time.Now()
	ans, err := g.unary.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[*Answer]) (_ *Answer, err error) {
		attemptStart := time.Now()
		req := *r.Provider
		req.Model = t.Model
		actx, span := startAttempt(exec.Context(), t, step)
		resp, err := g.provider.Complete(actx, &req)
		defer func() {
			endAttempt(span, resp, err)
			g.observe(t, time.Since(attemptStart), err)
		}()
		if err != nil {
			if exec.Context().Err() != nil && ctx.Err() == nil {
				// The attempt's own timeout fired, not the caller's.
				err = &providers.Error{Kind: providers.KindTimeout, Provider: g.name,
					Message: "attempt timed out after " + g.attemptTimeout.String(), Err: err}
			}
			err = g.fitRetryAfter(ctx, err)
			r.record(Attempt{Target: t, Step: step, Kind: kindOf(err), Err: err, Duration: time.Since(attemptStart)})
			return nil, err
		}
		return &Answer{Response: resp, Step: step, Target: t}, nil
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

// fitRetryAfter turns a Retry-After that does not fit in the caller's
// deadline into an immediate failover.
func (g *Guard) fitRetryAfter(ctx context.Context, err error) error {
	pe, ok := providers.AsError(err)
	if !ok || pe.RetryAfter <= 0 {
		return err
	}
	if pe.RetryAfter > MaxRetryAfter {
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

func callerDeadline(ctx context.Context) (time.Time, bool) {
	if dl, ok := ctx.Value(deadlineKey{}).(time.Time); ok {
		return dl, true
	}
	return ctx.Deadline()
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
	case errors.Is(err, timeout.ErrExceeded):
		// The attempt itself was recorded with its own error; the policy's
		// error only needs a type.
		return &providers.Error{Kind: providers.KindTimeout, Provider: g.name,
			Message: "attempt timed out after " + g.attemptTimeout.String(), Err: err}
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
