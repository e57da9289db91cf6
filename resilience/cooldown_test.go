package resilience_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/resilience"
)

// replica is one gateway's view of two simulators: a primary (OpenAI
// wire) and a backup (Anthropic wire), each behind its real backend.
type replica struct {
	cfg   *config.Config
	provs map[string]providers.Provider
	set   *resilience.Set
}

// startSims starts a primary and a backup simulator.
func startSims(t *testing.T) (primary, backup *sim.Server, pURL, bURL string) {
	t.Helper()
	var stop func()
	var err error
	if primary, pURL, stop, err = sim.Start(sim.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if backup, bURL, stop, err = sim.Start(sim.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return primary, backup, pURL, bURL
}

// newReplica builds providers and guards for the simulators at pURL and
// bURL with the primary's settings pc.
func newReplica(t *testing.T, pURL, bURL string, pc config.Provider, opts ...resilience.SetOption) *replica {
	t.Helper()
	pc.Kind, pc.BaseURL = "openai", pURL+"/v1"
	r := &replica{cfg: &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{
		"primary": pc,
		"backup":  {Kind: "anthropic", BaseURL: bURL, Retry: &config.Retry{MaxAttempts: 1}},
	}}}, provs: map[string]providers.Provider{}}
	for name, c := range r.cfg.Providers.Providers {
		p, err := providers.New(providers.Settings{Name: name, Kind: c.Kind, BaseURL: c.BaseURL, Timeout: time.Duration(c.Timeout)})
		if err != nil {
			t.Fatal(err)
		}
		r.provs[name] = p
	}
	var err error
	if r.set, err = resilience.NewSet(r.cfg, r.provs, nil, opts...); err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	primaryTarget = resilience.Target{Provider: "primary", Model: "gpt-4o-mini"}
	backupTarget  = resilience.Target{Provider: "backup", Model: "claude-3-5-haiku-latest"}
)

// alone is a chain of the primary only, with degraded as its last step.
func (r *replica) alone(t *testing.T, degraded string, opts ...resilience.ChainOption) *resilience.Chain {
	t.Helper()
	c, err := r.set.Chain("r", primaryTarget, nil, degraded, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withBackup is a chain of the primary and the backup, without a degraded
// answer.
func (r *replica) withBackup(t *testing.T) *resilience.Chain {
	t.Helper()
	c, err := r.set.Chain("r", primaryTarget, []resilience.Target{backupTarget}, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func calls(s *sim.Server) int64 {
	st := s.Stats()
	return st.Requests[sim.PathChatCompletions] + st.Requests[sim.PathMessages]
}

// quick is a bound no call that does not sleep out a Retry-After can
// break, however slow the machine, and every call that does breaks.
const quick = 10 * time.Second

// The new user's experience: one provider answering 429 with
// Retry-After: 30, a degraded answer, a caller without a deadline. The
// call gets the degraded answer at once, without sleeping, and the next
// call does not even try the provider.
func TestLongRetryAfterIsNotSleptOut(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Status: 429, RetryAfter: "30"}); err != nil {
		t.Fatal(err)
	}
	rep := newReplica(t, pURL, bURL, config.Provider{})
	c := rep.alone(t, "degraded")

	start := time.Now()
	r := req()
	ans, err := c.Complete(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > quick {
		t.Fatalf("took %v: the Retry-After was slept out", el)
	}
	if ans.Step != resilience.StepDegraded {
		t.Fatalf("step %v, want degraded", ans.Step)
	}
	if n := calls(primary); n != 1 {
		t.Fatalf("the provider was called %d times, want once: a Retry-After past max_retry_after is not retried", n)
	}

	// The provider asked for 30s: the next request skips it.
	start = time.Now()
	r = req()
	ans, err = c.Complete(context.Background(), r)
	if err != nil || ans.Step != resilience.StepDegraded {
		t.Fatalf("second call: %+v, %v", ans, err)
	}
	if el := time.Since(start); el > quick {
		t.Fatalf("second call took %v", el)
	}
	if n := calls(primary); n != 1 {
		t.Fatalf("a cooled-down provider was called again (%d calls)", n)
	}
	at := r.Attempts()
	if len(at) != 1 || at[0].Kind != providers.KindRateLimited {
		t.Fatalf("attempts %+v, want one refused as rate limited", at)
	}
	if pe, ok := providers.AsError(at[0].Err); !ok || pe.Code != resilience.CooldownCode || pe.RetryAfter <= 20*time.Second {
		t.Fatalf("skipped attempt %v: want the cooldown code and ~30s left", at[0].Err)
	}
	if left := rep.set.Guards()["primary"].Cooldown(context.Background()); left <= 20*time.Second || left > 30*time.Second {
		t.Fatalf("guard reports %v of cooldown, want (20s, 30s]", left)
	}

	// Streams skip it too.
	ans, err = c.Stream(context.Background(), req())
	if err != nil || ans.Step != resilience.StepDegraded {
		t.Fatalf("stream: %+v, %v", ans, err)
	}
	if n := calls(primary); n != 1 {
		t.Fatalf("a stream called the cooled-down provider (%d calls)", n)
	}
}

// With no step after the provider, the caller hears RESOURCE_EXHAUSTED's
// cause at once: rate limited, with the time left to wait.
func TestCooledDownWithNoFurtherStep(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Status: 429, RetryAfter: "30"}); err != nil {
		t.Fatal(err)
	}
	c := newReplica(t, pURL, bURL, config.Provider{}).alone(t, "")
	for i, open := range []string{"the 429 itself", "the cooldown"} {
		start := time.Now()
		_, err := c.Complete(context.Background(), req())
		if el := time.Since(start); el > quick {
			t.Fatalf("%s: took %v", open, el)
		}
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindRateLimited || pe.RetryAfter <= 20*time.Second {
			t.Fatalf("call %d (%s): err %v, want rate limited with ~30s to wait", i, open, err)
		}
	}
	if n := calls(primary); n != 1 {
		t.Fatalf("provider called %d times, want once", n)
	}
}

// A Retry-After within max_retry_after is waited for, and the retry
// answers.
func TestShortRetryAfterIsWaitedFor(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Status: 429, RetryAfter: "1", Count: 1}); err != nil {
		t.Fatal(err)
	}
	c := newReplica(t, pURL, bURL, config.Provider{Retry: &config.Retry{MaxRetryAfter: config.Duration(2 * time.Second)}}).alone(t, "degraded")
	start := time.Now()
	ans, err := c.Complete(context.Background(), req())
	if err != nil || ans.Step != resilience.StepPrimary {
		t.Fatalf("%+v, %v: want the primary's answer after one retry", ans, err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("answered after %v: the 1s Retry-After was not honoured", el)
	}
	if n := calls(primary); n != 2 {
		t.Fatalf("provider called %d times, want 2", n)
	}
}

// A cooldown reaches every replica sharing the store, and the backup
// answers in the provider's place.
func TestCooldownSharedByReplicas(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: redistest.Start(t), ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = rc.Close() })
	primary, backup, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Status: 429, RetryAfter: "60"}); err != nil {
		t.Fatal(err)
	}
	store := func() resilience.SetOption {
		return resilience.WithCooldowns(cooldown.NewRedisStore(rc, cooldown.RedisOptions{Timeout: time.Second}))
	}
	a := newReplica(t, pURL, bURL, config.Provider{}, store())
	b := newReplica(t, pURL, bURL, config.Provider{}, store())

	ans, err := a.withBackup(t).Complete(context.Background(), req())
	if err != nil || ans.Step != resilience.StepBackup {
		t.Fatalf("replica a: %+v, %v: want the backup's answer", ans, err)
	}
	start := time.Now()
	ans, err = b.withBackup(t).Complete(context.Background(), req())
	if err != nil || ans.Step != resilience.StepBackup {
		t.Fatalf("replica b: %+v, %v: want the backup's answer", ans, err)
	}
	if el := time.Since(start); el > quick {
		t.Fatalf("replica b took %v", el)
	}
	if n := calls(primary); n != 1 {
		t.Fatalf("the primary was called %d times: replica b did not see the cooldown", n)
	}
	if n := calls(backup); n != 2 {
		t.Fatalf("backup called %d times, want 2", n)
	}
}

// insufficient_quota is billing, not rate: not retried, straight to the
// next step.
func TestInsufficientQuotaFailsOverWithoutRetry(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{InsufficientQuota: true}); err != nil {
		t.Fatal(err)
	}
	r := req()
	ans, err := newReplica(t, pURL, bURL, config.Provider{}).withBackup(t).Complete(context.Background(), r)
	if err != nil || ans.Step != resilience.StepBackup {
		t.Fatalf("%+v, %v: want the backup's answer", ans, err)
	}
	if n := calls(primary); n != 1 {
		t.Fatalf("primary called %d times: insufficient_quota was retried", n)
	}
	if at := r.Attempts(); len(at) != 1 || at[0].Kind != providers.KindQuotaExhausted {
		t.Fatalf("attempts %+v, want one quota_exhausted", at)
	}
}

// A route's timeout bounds a caller without a deadline.
func TestRouteTimeoutBoundsACallerWithoutDeadline(t *testing.T) {
	primary, _, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	c := newReplica(t, pURL, bURL, config.Provider{}).alone(t, "degraded", resilience.WithTimeout(500*time.Millisecond))
	start := time.Now()
	_, err := c.Complete(context.Background(), req())
	if el := time.Since(start); el > quick || el < 500*time.Millisecond {
		t.Fatalf("returned after %v, want the route's 500ms", el)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a deadline", err)
	}

	// A stream's first token is bounded the same way.
	start = time.Now()
	_, err = c.Stream(context.Background(), req())
	if el := time.Since(start); el > quick || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stream: %v after %v", err, el)
	}
}

// The route's timeout bounds the wait for a stream's first token, not the
// stream: one read long after the timeout still flows.
func TestRouteTimeoutDoesNotCutAStream(t *testing.T) {
	_, _, pURL, bURL := startSims(t)
	c := newReplica(t, pURL, bURL, config.Provider{}).alone(t, "", resilience.WithTimeout(300*time.Millisecond))
	ans, err := c.Stream(context.Background(), req())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ans.Stream.Close() }()
	time.Sleep(600 * time.Millisecond)
	for {
		ch, err := ans.Stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				t.Fatal("stream ended without its final chunk")
			}
			t.Fatalf("stream cut after the route's timeout: %v", err)
		}
		if ch.Done {
			return
		}
	}
}

func TestDefaultRouteTimeout(t *testing.T) {
	_, _, pURL, bURL := startSims(t)
	rep := newReplica(t, pURL, bURL, config.Provider{Timeout: config.Duration(10 * time.Second),
		Retry: &config.Retry{MaxAttempts: 3, MaxBackoff: config.Duration(2 * time.Second)}})
	if got, want := resilience.DefaultRouteTimeout(rep.set.Guards()["primary"]), 34*time.Second; got != want {
		t.Fatalf("default route timeout %v, want 3 attempts of 10s and 2 backoffs of 2s = %v", got, want)
	}
	if got, want := resilience.DefaultRouteTimeout(rep.set.Guards()["backup"]), resilience.DefaultAttemptBudget; got != want {
		t.Fatalf("one attempt without a timeout: %v, want %v", got, want)
	}
	g := rep.set.Guards()
	if got, want := resilience.DefaultRouteTimeout(g["primary"], g["backup"]), 34*time.Second+resilience.DefaultAttemptBudget; got != want {
		t.Fatalf("primary and backup: %v, want the sum %v", got, want)
	}
}

// TestAttemptTimeoutIsRetriedThenFailsOver: a primary that hangs is cut at
// its attempt timeout, each attempt recorded as a timeout, retried, then
// the backup answers.
func TestAttemptTimeoutIsRetriedThenFailsOver(t *testing.T) {
	primary, backup, pURL, bURL := startSims(t)
	if err := primary.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	pc := config.Provider{Timeout: config.Duration(200 * time.Millisecond),
		Retry: &config.Retry{MaxAttempts: 2, InitialBackoff: config.Duration(time.Millisecond)}}
	c := newReplica(t, pURL, bURL, pc).withBackup(t)
	r := req()
	start := time.Now()
	ans, err := c.Complete(ctx(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond || el > quick {
		t.Errorf("answered after %v, want two attempts of 200ms first", el)
	}
	if ans.Target != backupTarget || calls(backup) != 1 || calls(primary) != 2 {
		t.Errorf("answered by %v; calls: primary %d, backup %d", ans.Target, calls(primary), calls(backup))
	}
	att := r.Attempts()
	if len(att) != 2 {
		t.Fatalf("attempts %+v, want the primary's two", att)
	}
	for _, a := range att {
		if a.Kind != providers.KindTimeout || !strings.Contains(a.Err.Error(), "attempt timed out after 200ms") {
			t.Errorf("attempt %v: %v, want a timeout of the attempt", a.Kind, a.Err)
		}
	}
}
