package console

import (
	"os"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/telemetry"
)

// Console keeps what the console shows of this replica. Its methods are
// safe for concurrent use.
type Console struct {
	replica string
	now     func() time.Time
	started time.Time
	win     *window
	calls   recent

	mu          sync.Mutex
	transitions []Transition // oldest first, at most maxEvents
	breakers    map[string]circuitbreaker.State
	errClasses  map[string]map[string]int64 // failed attempts by provider and class, since start
	reloads     []ReloadEvent               // oldest first, at most maxEvents
	configs     [2]*configVersion
}

// maxEvents bounds the breaker transitions and reloads kept.
const maxEvents = 200

// Options configure a [Console].
type Options struct {
	// Replica names this replica on the pages; default the host name.
	Replica string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// New returns an empty console.
func New(opts Options) *Console {
	if opts.Replica == "" {
		opts.Replica, _ = os.Hostname()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Console{replica: opts.Replica, now: opts.Now, started: opts.Now(), win: newWindow(),
		breakers: map[string]circuitbreaker.State{}, errClasses: map[string]map[string]int64{}}
}

// Record counts one finished call. It is on every call's path: it takes
// no lock but the recent ring slot's, and allocates nothing once the
// call's route, variant, provider and model have been seen.
func (c *Console) Record(o Outcome) {
	if o.Time.IsZero() {
		o.Time = c.now()
	}
	s := c.win.get(key{route: o.Route, variant: o.Variant, provider: o.Provider, model: o.Model})
	s.hour.at(o.Time).add(&o)
	s.day.at(o.Time).add(&o)
	c.calls.put(&o)
}

// Transition is one change of a provider's circuit breaker state.
type Transition struct {
	Time     time.Time `json:"time"`
	Provider string    `json:"provider"`
	From     string    `json:"from"`
	To       string    `json:"to"`
}

// Observe returns next, also counting retries and hedges per provider and
// keeping the breakers' transitions for the console. It forwards
// [resilience.AttemptObserver] when next implements it.
func (c *Console) Observe(next resilience.Observer) resilience.Observer {
	if next == nil {
		next = resilience.NopObserver{}
	}
	o := &observer{Observer: next, c: c}
	o.attempts, _ = next.(resilience.AttemptObserver)
	return o
}

type observer struct {
	resilience.Observer
	attempts resilience.AttemptObserver
	c        *Console
}

// Retry implements resilience.Observer.
func (o *observer) Retry(provider string) {
	o.Observer.Retry(provider)
	now := o.c.now()
	s := o.c.win.get(key{provider: provider})
	s.hour.at(now).retries.Add(1)
	s.day.at(now).retries.Add(1)
}

// Hedge implements resilience.Observer.
func (o *observer) Hedge(provider string, won bool) {
	o.Observer.Hedge(provider, won)
	now := o.c.now()
	s := o.c.win.get(key{provider: provider})
	for _, b := range []*bucket{s.hour.at(now), s.day.at(now)} {
		if won {
			b.hedgesWon.Add(1)
		} else {
			b.hedges.Add(1)
		}
	}
}

// BreakerState implements resilience.Observer.
func (o *observer) BreakerState(provider string, st circuitbreaker.State) {
	o.Observer.BreakerState(provider, st)
	c := o.c
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, seen := c.breakers[provider]
	c.breakers[provider] = st
	if !seen {
		prev = circuitbreaker.ClosedState
	}
	if prev == st {
		return
	}
	c.transitions = appendBounded(c.transitions, Transition{Time: c.now().UTC(), Provider: provider,
		From: telemetry.BreakerStateName(prev), To: telemetry.BreakerStateName(st)})
}

// Attempt implements resilience.AttemptObserver.
func (o *observer) Attempt(t resilience.Target, d time.Duration, errClass string) {
	if o.attempts != nil {
		o.attempts.Attempt(t, d, errClass)
	}
	if errClass == "" {
		return
	}
	c := o.c
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.errClasses[t.Provider]
	if m == nil {
		m = map[string]int64{}
		c.errClasses[t.Provider] = m
	}
	if _, ok := m[errClass]; ok || len(m) < 32 {
		m[errClass]++
	}
}

func appendBounded[T any](s []T, v T) []T {
	if len(s) >= maxEvents {
		s = append(s[:0], s[1:]...)
	}
	return append(s, v)
}

var (
	_ resilience.Observer        = (*observer)(nil)
	_ resilience.AttemptObserver = (*observer)(nil)
)
