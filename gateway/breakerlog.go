package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/telemetry"
)

// LogBreakers returns obs, also logging every circuit breaker transition:
// opening and half-opening at WARN, closing again at INFO. A breaker built
// closed by a new configuration is not a transition.
func LogBreakers(log *slog.Logger, obs resilience.Observer) resilience.Observer {
	b := &breakerLog{Observer: obs, log: log, last: map[string]circuitbreaker.State{}}
	b.attempts, _ = obs.(resilience.AttemptObserver)
	return b
}

type breakerLog struct {
	resilience.Observer
	attempts resilience.AttemptObserver
	log      *slog.Logger
	mu       sync.Mutex
	last     map[string]circuitbreaker.State
}

// BreakerState implements resilience.Observer.
func (b *breakerLog) BreakerState(provider string, s circuitbreaker.State) {
	b.Observer.BreakerState(provider, s)
	b.mu.Lock()
	prev, seen := b.last[provider]
	b.last[provider] = s
	b.mu.Unlock()
	if !seen {
		prev = circuitbreaker.ClosedState
	}
	if prev == s {
		return
	}
	lvl := slog.LevelWarn
	if s == circuitbreaker.ClosedState {
		lvl = slog.LevelInfo
	}
	b.log.Log(context.Background(), lvl, "circuit breaker "+telemetry.BreakerStateName(s),
		"provider", provider, "from", telemetry.BreakerStateName(prev))
}

// Attempt implements resilience.AttemptObserver when obs does.
func (b *breakerLog) Attempt(t resilience.Target, d time.Duration, errClass string) {
	if b.attempts != nil {
		b.attempts.Attempt(t, d, errClass)
	}
}

var (
	_ resilience.Observer        = (*breakerLog)(nil)
	_ resilience.AttemptObserver = (*breakerLog)(nil)
)
