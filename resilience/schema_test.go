package resilience_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
)

// scripted answers each call with the next of its answers (the last one
// again once they run out), whole or streamed in two text chunks.
type scripted struct {
	name    string
	mu      sync.Mutex
	answers []string
	calls   int
}

func (p *scripted) Name() string { return p.name }

// Supports implements providers.FeatureSupporter: a script answers
// whatever it is asked.
func (p *scripted) Supports(providers.Feature, string) bool { return true }

func (p *scripted) next() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.answers[min(p.calls, len(p.answers)-1)]
	p.calls++
	return a
}

func (p *scripted) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func (p *scripted) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return &providers.Response{Text: p.next(), FinishReason: providers.FinishStop}, nil
}

func (p *scripted) Stream(context.Context, *providers.Request) (providers.Stream, error) {
	a := p.next()
	half := len(a) / 2
	return &chunks{list: []providers.Chunk{{Delta: a[:half]}, {Delta: a[half:]}, {Done: true, FinishReason: providers.FinishStop}}}, nil
}

type chunks struct {
	list []providers.Chunk
	i    int
}

func (c *chunks) Recv() (providers.Chunk, error) {
	if c.i >= len(c.list) {
		return providers.Chunk{}, io.EOF
	}
	c.i++
	return c.list[c.i-1], nil
}

func (c *chunks) Close() error { return nil }

// schemaObserver counts mismatches by route and provider.
type schemaObserver struct {
	resilience.NopObserver
	mu sync.Mutex
	n  map[[2]string]int
}

func (o *schemaObserver) SchemaMismatch(route, provider string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[[2]string]int{}
	}
	o.n[[2]string{route, provider}]++
}

func (o *schemaObserver) count(route, provider string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[[2]string{route, provider}]
}

const (
	goodJSON = `{"title":"Learn Go","weeks":4}`
	badJSON  = `{"title":"Learn Go","weeks":"four"}`
	schema   = `{"type":"object","properties":{"title":{"type":"string"},"weeks":{"type":"integer"}},"required":["title","weeks"],"additionalProperties":false}`
)

type schemaFixture struct {
	primary, backup *scripted
	obs             *schemaObserver
	chain           *resilience.Chain
	set             *resilience.Set
}

func newSchemaFixture(t *testing.T, policy string, primary, backup []string) *schemaFixture {
	t.Helper()
	f := &schemaFixture{primary: &scripted{name: "primary", answers: primary},
		backup: &scripted{name: "backup", answers: backup}, obs: &schemaObserver{}}
	retry := &config.Retry{MaxAttempts: 3, InitialBackoff: config.Duration(time.Millisecond), MaxBackoff: config.Duration(time.Millisecond)}
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{
		"primary": {Kind: "openai", Retry: retry,
			CircuitBreaker: &config.CircuitBreaker{MinRequests: 1, FailureRate: 0.01}},
		"backup": {Kind: "anthropic", Retry: retry},
	}}}
	var err error
	f.set, err = resilience.NewSet(cfg, map[string]providers.Provider{"primary": f.primary, "backup": f.backup}, f.obs)
	if err != nil {
		t.Fatal(err)
	}
	f.chain, err = f.set.Chain("plan", resilience.Target{Provider: "primary", Model: "m"},
		[]resilience.Target{{Provider: "backup", Model: "m"}}, "", resilience.WithSchemaMismatch(policy))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func schemaReq() *resilience.Request {
	return &resilience.Request{Provider: &providers.Request{
		Messages:       []providers.Message{{Role: providers.RoleUser, Content: "plan"}},
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "plan", Schema: []byte(schema)},
	}}
}

// readAll drains a stream, returning its text and the error that ended it
// (nil after a clean finish).
func readAll(s providers.Stream) (string, error) {
	defer func() { _ = s.Close() }()
	var text string
	for {
		c, err := s.Recv()
		if err != nil {
			return text, err
		}
		text += c.Delta
		if c.Done {
			return text, nil
		}
	}
}

func TestSchemaMismatchPolicies(t *testing.T) {
	cases := []struct {
		name, policy     string
		primary          []string
		wantText         string
		wantStep         resilience.Step
		wantCheck        resilience.SchemaCheck
		wantPrimaryCalls int
		wantBackupCalls  int
	}{
		{"retry fixes it", config.OnSchemaMismatchRetry, []string{badJSON, goodJSON}, goodJSON,
			resilience.StepPrimary, resilience.SchemaChecked, 2, 0},
		{"retry then fail over", "", []string{badJSON}, goodJSON,
			resilience.StepBackup, resilience.SchemaChecked, 3, 1},
		{"not JSON is a mismatch", config.OnSchemaMismatchRetry, []string{"Sure! Here is your plan", goodJSON}, goodJSON,
			resilience.StepPrimary, resilience.SchemaChecked, 2, 0},
		{"fail over at once", config.OnSchemaMismatchFailOver, []string{badJSON, goodJSON}, goodJSON,
			resilience.StepBackup, resilience.SchemaChecked, 1, 1},
		{"pass marked unchecked", config.OnSchemaMismatchPass, []string{badJSON}, badJSON,
			resilience.StepPrimary, resilience.SchemaUnchecked, 1, 0},
		{"a match is checked", config.OnSchemaMismatchFailOver, []string{goodJSON}, goodJSON,
			resilience.StepPrimary, resilience.SchemaChecked, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSchemaFixture(t, tc.policy, tc.primary, []string{goodJSON})
			r := schemaReq()
			ans, err := f.chain.Complete(ctx(t), r)
			if err != nil {
				t.Fatal(err)
			}
			if ans.Response.Text != tc.wantText || ans.Step != tc.wantStep || ans.SchemaCheck() != tc.wantCheck {
				t.Fatalf("answer %q from %v, check %v; want %q from %v, check %v",
					ans.Response.Text, ans.Step, ans.SchemaCheck(), tc.wantText, tc.wantStep, tc.wantCheck)
			}
			if f.primary.Calls() != tc.wantPrimaryCalls || f.backup.Calls() != tc.wantBackupCalls {
				t.Fatalf("calls: primary %d, backup %d; want %d, %d",
					f.primary.Calls(), f.backup.Calls(), tc.wantPrimaryCalls, tc.wantBackupCalls)
			}
			mismatches := tc.wantPrimaryCalls
			if tc.wantText == tc.primary[len(tc.primary)-1] && tc.wantStep == resilience.StepPrimary && tc.wantCheck == resilience.SchemaChecked {
				mismatches--
			}
			if got := f.obs.count("plan", "primary"); got != mismatches {
				t.Fatalf("%d mismatches counted, want %d", got, mismatches)
			}
			for _, a := range r.Attempts() {
				if a.Kind != providers.KindSchemaMismatch {
					t.Fatalf("attempt failed with %v, want schema_mismatch", a.Kind)
				}
			}
			if len(r.Attempts()) != mismatches && tc.policy != config.OnSchemaMismatchPass {
				t.Fatalf("%d failed attempts, want %d", len(r.Attempts()), mismatches)
			}
		})
	}
}

func TestSchemaMismatchDoesNotOpenTheBreaker(t *testing.T) {
	f := newSchemaFixture(t, config.OnSchemaMismatchFailOver, []string{badJSON}, []string{goodJSON})
	g, _ := f.set.Guard("primary")
	for range 5 {
		if _, err := f.chain.Complete(ctx(t), schemaReq()); err != nil {
			t.Fatal(err)
		}
	}
	if g.BreakerState().String() != "closed" || f.primary.Calls() != 5 {
		t.Fatalf("breaker %v after %d calls, want closed after 5", g.BreakerState(), f.primary.Calls())
	}
}

func TestSchemaMismatchWhenEveryProviderFails(t *testing.T) {
	f := newSchemaFixture(t, config.OnSchemaMismatchFailOver, []string{badJSON}, []string{"not json"})
	_, err := f.chain.Complete(ctx(t), schemaReq())
	if providers.KindOf(err) != providers.KindSchemaMismatch {
		t.Fatalf("error %v, want schema_mismatch", err)
	}
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Provider != "backup" {
		t.Fatalf("error %v, want the backup's", err)
	}
}

func TestStreamSchemaMismatch(t *testing.T) {
	cases := []struct {
		name, policy string
		wantErr      bool
		wantCheck    resilience.SchemaCheck
	}{
		{"retry", config.OnSchemaMismatchRetry, true, resilience.SchemaUnchecked},
		{"fail over", config.OnSchemaMismatchFailOver, true, resilience.SchemaUnchecked},
		{"pass", config.OnSchemaMismatchPass, false, resilience.SchemaUnchecked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSchemaFixture(t, tc.policy, []string{badJSON}, []string{goodJSON})
			ans, err := f.chain.Stream(ctx(t), schemaReq())
			if err != nil {
				t.Fatal(err)
			}
			if ans.SchemaCheck() != resilience.SchemaUnchecked {
				t.Fatalf("check %v before the end, want unchecked", ans.SchemaCheck())
			}
			// Tokens were sent before the mismatch was known: the stream
			// ends with the error instead of its last chunk.
			text, err := readAll(ans.Stream)
			if text != badJSON || (err != nil) != tc.wantErr || ans.SchemaCheck() != tc.wantCheck {
				t.Fatalf("stream %q ended with %v, check %v", text, err, ans.SchemaCheck())
			}
			if tc.wantErr && providers.KindOf(err) != providers.KindSchemaMismatch {
				t.Fatalf("stream ended with %v, want schema_mismatch", err)
			}
			if f.primary.Calls() != 1 || f.backup.Calls() != 0 || f.obs.count("plan", "primary") != 1 {
				t.Fatalf("calls %d/%d, %d mismatches", f.primary.Calls(), f.backup.Calls(), f.obs.count("plan", "primary"))
			}
		})
	}

	f := newSchemaFixture(t, config.OnSchemaMismatchRetry, []string{goodJSON}, []string{goodJSON})
	ans, err := f.chain.Stream(ctx(t), schemaReq())
	if err != nil {
		t.Fatal(err)
	}
	if text, err := readAll(ans.Stream); err != nil || text != goodJSON || ans.SchemaCheck() != resilience.SchemaChecked {
		t.Fatalf("stream %q ended with %v, check %v", text, err, ans.SchemaCheck())
	}
}

// wholeStream sends its whole answer in one last chunk, as a stream cut
// short by a low max_tokens or a tool call may.
type wholeStream struct{ scripted }

func (p *wholeStream) Stream(context.Context, *providers.Request) (providers.Stream, error) {
	return &chunks{list: []providers.Chunk{{Delta: p.next(), Done: true, FinishReason: providers.FinishStop}}}, nil
}

func TestStreamMismatchBeforeAnythingSentFailsOver(t *testing.T) {
	primary := &wholeStream{scripted{name: "primary", answers: []string{badJSON}}}
	backup := &scripted{name: "backup", answers: []string{goodJSON}}
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{
		"primary": {Kind: "openai"}, "backup": {Kind: "anthropic"},
	}}}
	set, err := resilience.NewSet(cfg, map[string]providers.Provider{"primary": primary, "backup": backup}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := set.Chain("plan", resilience.Target{Provider: "primary", Model: "m"},
		[]resilience.Target{{Provider: "backup", Model: "m"}}, "", resilience.WithSchemaMismatch(config.OnSchemaMismatchFailOver))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := c.Stream(ctx(t), schemaReq())
	if err != nil {
		t.Fatal(err)
	}
	text, err := readAll(ans.Stream)
	if err != nil || text != goodJSON || ans.Step != resilience.StepBackup || ans.SchemaCheck() != resilience.SchemaChecked {
		t.Fatalf("stream %q from %v ended with %v, check %v", text, ans.Step, err, ans.SchemaCheck())
	}
	if primary.Calls() != 1 {
		t.Fatalf("primary called %d times, want once (fail_over does not retry)", primary.Calls())
	}
}

func TestToolCallArgumentsAreChecked(t *testing.T) {
	tool := providers.Tool{Name: "find_jobs", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
	call := func(args string) *providers.Response {
		parts := []providers.Part{{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "c1", Name: "find_jobs", Arguments: args}}}
		return &providers.Response{Parts: &parts, FinishReason: providers.FinishToolCalls}
	}
	p := &toolCaller{answers: []*providers.Response{call(`{"town":"Oslo"}`), call(`{"city":"Oslo"}`)}}
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{
		"primary": {Kind: "openai", Retry: &config.Retry{MaxAttempts: 2, InitialBackoff: config.Duration(time.Millisecond)}},
	}}}
	set, err := resilience.NewSet(cfg, map[string]providers.Provider{"primary": p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := set.Chain("jobs", resilience.Target{Provider: "primary", Model: "m"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	r := &resilience.Request{Provider: &providers.Request{
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "jobs in Oslo"}}, Tools: []providers.Tool{tool}}}
	ans, err := c.Complete(ctx(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := ans.Response.PartList()[0].ToolCall.Arguments; got != `{"city":"Oslo"}` || ans.SchemaCheck() != resilience.SchemaChecked {
		t.Fatalf("arguments %s, check %v", got, ans.SchemaCheck())
	}
	if a := r.Attempts(); len(a) != 1 || a[0].Kind != providers.KindSchemaMismatch {
		t.Fatalf("attempts %+v, want one schema mismatch", a)
	}
}

type toolCaller struct {
	mu      sync.Mutex
	answers []*providers.Response
	calls   int
}

func (p *toolCaller) Name() string { return "primary" }

func (p *toolCaller) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.answers[min(p.calls, len(p.answers)-1)]
	p.calls++
	return a, nil
}

func (p *toolCaller) Stream(context.Context, *providers.Request) (providers.Stream, error) {
	return nil, errors.New("not streamed")
}

func TestTextRequestIsNotApplicable(t *testing.T) {
	f := newSchemaFixture(t, config.OnSchemaMismatchFailOver, []string{"hello"}, []string{goodJSON})
	ans, err := f.chain.Complete(ctx(t), req())
	if err != nil || ans.SchemaCheck() != resilience.SchemaNotApplicable || ans.Response.Text != "hello" {
		t.Fatalf("%+v %v", ans, err)
	}
}
