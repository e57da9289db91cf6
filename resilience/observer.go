package resilience

import (
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// Observer is told what the policies do, for metrics. Implementations must
// be safe for concurrent use and cheap: they run on the request path.
type Observer interface {
	// Retry is called when a retry of a call to provider is scheduled.
	Retry(provider string)
	// BreakerState is called when provider's breaker changes state (and
	// once when it is built, closed).
	BreakerState(provider string, state circuitbreaker.State)
	// Fallback is called when route's chain moves on to step.
	Fallback(route string, step Step)
	// Hedge is called when a hedged attempt is sent because provider was
	// slow, and again with won set when the hedged attempt's answer is the
	// one returned.
	Hedge(provider string, won bool)
	// Cooldown is called when provider answered 429 with a Retry-After and
	// is cooled down for left (skipped false), and when a call skips it
	// because it still is, for left more (skipped true).
	Cooldown(provider string, left time.Duration, skipped bool)
}

// NopObserver observes nothing.
type NopObserver struct{}

// Retry implements Observer.
func (NopObserver) Retry(string) {}

// BreakerState implements Observer.
func (NopObserver) BreakerState(string, circuitbreaker.State) {}

// Fallback implements Observer.
func (NopObserver) Fallback(string, Step) {}

// Hedge implements Observer.
func (NopObserver) Hedge(string, bool) {}

// Cooldown implements Observer.
func (NopObserver) Cooldown(string, time.Duration, bool) {}

var _ Observer = NopObserver{}

// AttemptObserver is an [Observer] that also hears of every call made to a
// provider, found by type assertion. errClass is the failure's kind
// (rate_limited, timeout, …), empty for a success. A unary call is
// observed when it returns; a stream when it ends, or when it fails before
// its first token.
type AttemptObserver interface {
	Attempt(t Target, d time.Duration, errClass string)
}
