package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/resilience"
)

// tripBreaker opens the primary's breaker of rep with failed calls.
func tripBreaker(t *testing.T, rep *replica, primary *sim.Server) {
	t.Helper()
	if err := primary.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	c := rep.alone(t, "degraded")
	for range 4 {
		if _, err := c.Complete(context.Background(), req()); err != nil {
			t.Fatal(err)
		}
	}
	if st := rep.set.Guards()["primary"].BreakerState(); st != circuitbreaker.OpenState {
		t.Fatalf("breaker %v after failures, want open", st)
	}
	primary.ClearFaults()
}

func breakerSettings() config.Provider {
	return config.Provider{
		Retry:          &config.Retry{MaxAttempts: 1},
		CircuitBreaker: &config.CircuitBreaker{MinRequests: 2, OpenFor: config.Duration(time.Minute)},
	}
}

// A reload that leaves the provider's settings alone keeps its breaker
// open: the provider is not hammered again because of a reload.
func TestReloadKeepsAnOpenBreaker(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	old := newReplica(t, pURL, bURL, breakerSettings())
	tripBreaker(t, old, primary)

	next := newReplica(t, pURL, bURL, breakerSettings(), resilience.Adopting(old.set))
	if st := next.set.Guards()["primary"].BreakerState(); st != circuitbreaker.OpenState {
		t.Fatalf("breaker %v after the reload, want still open", st)
	}
	before := calls(primary)
	ans, err := next.alone(t, "degraded").Complete(context.Background(), req())
	if err != nil || ans.Step != resilience.StepDegraded {
		t.Fatalf("%+v, %v: want degraded while the breaker is open", ans, err)
	}
	if calls(primary) != before {
		t.Fatal("the reloaded configuration called a provider whose breaker is open")
	}
}

// A reload that changes the provider's breaker settings starts it afresh.
func TestReloadWithNewBreakerSettingsStartsAfresh(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	old := newReplica(t, pURL, bURL, breakerSettings())
	tripBreaker(t, old, primary)

	changed := breakerSettings()
	changed.CircuitBreaker.MinRequests = 5
	next := newReplica(t, pURL, bURL, changed, resilience.Adopting(old.set))
	if st := next.set.Guards()["primary"].BreakerState(); st != circuitbreaker.ClosedState {
		t.Fatalf("breaker %v after a reload that changed its settings, want closed", st)
	}
	ans, err := next.alone(t, "degraded").Complete(context.Background(), req())
	if err != nil || ans.Step != resilience.StepPrimary {
		t.Fatalf("%+v, %v: want the primary's answer", ans, err)
	}
	// The old configuration's breaker, still serving its last requests,
	// is not touched.
	if st := old.set.Guards()["primary"].BreakerState(); st != circuitbreaker.OpenState {
		t.Fatalf("old breaker %v, want open", st)
	}
}

// A cooldown outlives a reload even without a shared store: the new set
// keeps the old one's.
func TestReloadKeepsCooldowns(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Status: 429, RetryAfter: "60"}); err != nil {
		t.Fatal(err)
	}
	old := newReplica(t, pURL, bURL, config.Provider{})
	if _, err := old.alone(t, "degraded").Complete(context.Background(), req()); err != nil {
		t.Fatal(err)
	}
	changed := config.Provider{Timeout: config.Duration(5 * time.Second)}
	next := newReplica(t, pURL, bURL, changed, resilience.Adopting(old.set))
	if left := next.set.Guards()["primary"].Cooldown(context.Background()); left <= 30*time.Second {
		t.Fatalf("cooldown after the reload: %v left, want most of 60s", left)
	}
}

// The hedge's latency estimate belongs to the provider and survives a
// reload that does not change it: a primary that has been slow is hedged
// at once by the new configuration, without relearning.
func TestReloadKeepsHedgeEstimate(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	pc := config.Provider{Hedge: &config.Hedge{Quantile: 0.5}}
	old := newReplica(t, pURL, bURL, pc)
	if err := primary.SetConfig(sim.Config{Latency: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for range 25 {
		if _, err := old.withBackup(t).Complete(context.Background(), req()); err != nil {
			t.Fatal(err)
		}
	}
	next := newReplica(t, pURL, bURL, pc, resilience.Adopting(old.set))
	fresh := newReplica(t, pURL, bURL, pc)
	if err := primary.SetConfig(sim.Config{Latency: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ans, err := next.withBackup(t).Complete(context.Background(), req())
	if err != nil || !ans.Hedged {
		t.Fatalf("%+v, %v: the reloaded chain did not hedge a slow primary", ans, err)
	}
	// Without the estimate there is nothing to hedge on yet.
	ans, err = fresh.withBackup(t).Complete(context.Background(), req())
	if err != nil || ans.Hedged {
		t.Fatalf("%+v, %v: a fresh chain hedged without an estimate", ans, err)
	}
}
