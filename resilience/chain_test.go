package resilience_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	_ "github.com/careerpath/llmgateway/providers/anthropic"
	_ "github.com/careerpath/llmgateway/providers/openai"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	primary, backup *sim.Server
	set             *resilience.Set
}

// newFixture builds a primary (OpenAI wire) and a backup (Anthropic wire),
// each a real simulator behind the real backend.
func newFixture(t *testing.T, primaryCfg config.Provider) *fixture {
	t.Helper()
	f := &fixture{}
	var pURL, bURL string
	var stop func()
	var err error
	if f.primary, pURL, stop, err = sim.Start(sim.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if f.backup, bURL, stop, err = sim.Start(sim.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	primaryCfg.Kind = "openai"
	primaryCfg.BaseURL = pURL + "/v1"
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{
		"primary": primaryCfg,
		"backup":  {Kind: "anthropic", BaseURL: bURL, Retry: &config.Retry{MaxAttempts: 1}},
	}}}
	provs := map[string]providers.Provider{}
	for name, pc := range cfg.Providers.Providers {
		p, err := providers.New(providers.Settings{Name: name, Kind: pc.Kind, BaseURL: pc.BaseURL, Timeout: time.Duration(pc.Timeout)})
		if err != nil {
			t.Fatal(err)
		}
		provs[name] = p
	}
	if f.set, err = resilience.NewSet(cfg, provs, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) chain(t *testing.T, degraded string) *resilience.Chain {
	t.Helper()
	c, err := f.set.Chain("r", resilience.Target{Provider: "primary", Model: "gpt-4o-mini"},
		[]resilience.Target{{Provider: "backup", Model: "claude-3-5-haiku-latest"}, {Provider: "primary", Model: "gpt-4o-mini"}}, degraded)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Targets()); n != 2 {
		t.Fatalf("chain has %d targets, want the duplicate backup dropped", n)
	}
	return c
}

func req() *resilience.Request {
	return &resilience.Request{Provider: &providers.Request{
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "hello"}}, MaxTokens: 16,
	}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestStaleAnswerWhenEveryProviderFails(t *testing.T) {
	f := newFixture(t, config.Provider{Retry: &config.Retry{MaxAttempts: 1}})
	for _, s := range []*sim.Server{f.primary, f.backup} {
		if err := s.SetFault(sim.Fault{Status: 500}); err != nil {
			t.Fatal(err)
		}
	}
	c := f.chain(t, "degraded")
	r := req()
	stored := &providers.Response{Text: "yesterday's answer", FinishReason: providers.FinishStop}
	r.Stale = func(context.Context) (*providers.Response, bool) { return stored, true }
	ans, err := c.Complete(ctx(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Step != resilience.StepStaleCache || ans.Response != stored {
		t.Fatalf("answer %+v, want the stale one", ans)
	}
	if n := len(r.Attempts()); n != 2 {
		t.Fatalf("%d failed attempts, want 2", n)
	}

	// Streams fall back to the stale answer too.
	r = req()
	r.Stale = func(context.Context) (*providers.Response, bool) { return stored, true }
	ans, err = c.Stream(ctx(t), r)
	if err != nil || ans.Step != resilience.StepStaleCache || ans.Response != stored {
		t.Fatalf("stream: %+v %v", ans, err)
	}

	// No stale answer: the degraded one.
	r = req()
	r.Stale = func(context.Context) (*providers.Response, bool) { return nil, false }
	ans, err = c.Complete(ctx(t), r)
	if err != nil || ans.Step != resilience.StepDegraded || ans.Response.Text != "degraded" {
		t.Fatalf("degraded: %+v %v", ans, err)
	}
}

func TestHedgeToBackupWhenPrimaryIsSlow(t *testing.T) {
	f := newFixture(t, config.Provider{Hedge: &config.Hedge{Delay: config.Duration(50 * time.Millisecond)}})
	if err := f.primary.SetConfig(sim.Config{Latency: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	c := f.chain(t, "")
	start := time.Now()
	ans, err := c.Complete(ctx(t), req())
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("took %v: the hedge did not win", el)
	}
	if !ans.Hedged || ans.Target.Provider != "backup" {
		t.Fatalf("answer %+v, want a hedged backup answer", ans)
	}
}

func TestHedgeNotSentWhenPrimaryIsFast(t *testing.T) {
	f := newFixture(t, config.Provider{Hedge: &config.Hedge{Delay: config.Duration(500 * time.Millisecond)}})
	ans, err := f.chain(t, "").Complete(ctx(t), req())
	if err != nil {
		t.Fatal(err)
	}
	if ans.Hedged || ans.Target.Provider != "primary" || f.backup.Stats().Requests[sim.PathMessages] != 0 {
		t.Fatalf("answer %+v; backup requests %v", ans, f.backup.Stats().Requests)
	}
}

func TestCallerDeadlineIsTheHardTotal(t *testing.T) {
	f := newFixture(t, config.Provider{})
	for _, s := range []*sim.Server{f.primary, f.backup} {
		if err := s.SetFault(sim.Fault{Hang: true}); err != nil {
			t.Fatal(err)
		}
	}
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.chain(t, "degraded").Complete(c, req())
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if !errorsIsDeadline(err) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
}

func TestConfigDefaultsApply(t *testing.T) {
	// A provider with no resilience settings still gets retries: a single
	// 500 is absorbed by the default three attempts.
	f := newFixture(t, config.Provider{})
	if err := f.primary.SetFault(sim.Fault{Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	r := req()
	ans, err := f.chain(t, "").Complete(ctx(t), r)
	if err != nil || ans.Target.Provider != "primary" || len(r.Attempts()) != 1 {
		t.Fatalf("answer %+v err %v attempts %v", ans, err, r.Attempts())
	}
}

func TestHedgeDoesNotTurnABadRequestIntoABackupCall(t *testing.T) {
	f := newFixture(t, config.Provider{Hedge: &config.Hedge{Delay: config.Duration(50 * time.Millisecond)},
		Retry: &config.Retry{MaxAttempts: 1}})
	if err := f.primary.SetFault(sim.Fault{Status: 400}); err != nil {
		t.Fatal(err)
	}
	_, err := f.chain(t, "degraded").Complete(ctx(t), req())
	if providers.KindOf(err) != providers.KindBadRequest {
		t.Fatalf("err = %v, want the bad request", err)
	}
	time.Sleep(100 * time.Millisecond) // past the hedge delay
	if n := f.backup.Stats().Requests[sim.PathMessages]; n != 0 {
		t.Fatalf("the backup was called %d times for a bad request", n)
	}
}

func TestHedgedBackupIsNotAskedTwice(t *testing.T) {
	f := newFixture(t, config.Provider{Hedge: &config.Hedge{Delay: config.Duration(20 * time.Millisecond)},
		Retry: &config.Retry{MaxAttempts: 1}})
	if err := f.primary.SetConfig(sim.Config{Latency: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := f.primary.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	if err := f.backup.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	ans, err := f.chain(t, "degraded").Complete(ctx(t), req())
	if err != nil || ans.Step != resilience.StepDegraded {
		t.Fatalf("answer %+v err %v", ans, err)
	}
	if n := f.backup.Stats().Requests[sim.PathMessages]; n != 1 {
		t.Fatalf("the backup was asked %d times, want once (by the hedge)", n)
	}
}
