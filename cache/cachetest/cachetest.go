// Package cachetest is the conformance suite every [cache.Store] runs, so
// that the memory and the Redis store behave the same way.
package cachetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/providers"
)

// MaxEntryBytes is the maximum entry size the factory must give the stores
// it returns.
const MaxEntryBytes = 64 << 10

// Factory returns a new, empty store with a maximum entry size of
// [MaxEntryBytes], independent of every store it returned before (e.g. a
// fresh Redis key prefix). It is called once per subtest.
type Factory func(t *testing.T) cache.Store

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, cache.Store)
	}{
		{"Miss", testMiss},
		{"FreshHit", testFreshHit},
		{"ExactRoundTrip", testExactRoundTrip},
		{"RichRoundTrip", testRichRoundTrip},
		{"NotStorable", testNotStorable},
		{"StaleAfterTTL", testStaleAfterTTL},
		{"GoneAfterMaxStale", testGoneAfterMaxStale},
		{"NoMaxStale", testNoMaxStale},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"PartitionByClient", testPartitionByClient},
		{"AnyChangeIsAnotherKey", testAnyChangeIsAnotherKey},
		{"TooLarge", testTooLarge},
		{"InvalidTTL", testInvalidTTL},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// BaseParts is the request the suite varies: a client asking a routed
// question with every parameter set.
func BaseParts() cache.KeyParts {
	temp, topP, seed := 0.7, 0.9, int64(42)
	return cache.KeyParts{
		Client:   "client-a",
		Route:    "career_advice",
		Variant:  "gpt4o_mini",
		Provider: "openai",
		Model:    "gpt-4o-mini",
		Request: &providers.Request{
			Model: "gpt-4o-mini",
			Messages: []providers.Message{
				{Role: providers.RoleSystem, Content: "You are a career coach."},
				{Role: providers.RoleUser, Content: "How do I move from QA into data engineering?"},
			},
			MaxTokens:   600,
			Temperature: &temp,
			TopP:        &topP,
			Stop:        []string{"\n\n"},
			Seed:        &seed,
		},
	}
}

// Variations returns requests that differ from [BaseParts] in one thing
// each, by name. Each must have a key of its own.
func Variations() map[string]cache.KeyParts {
	f := func(v float64) *float64 { return &v }
	i := func(v int64) *int64 { return &v }
	vary := func(change func(p *cache.KeyParts, r *providers.Request)) cache.KeyParts {
		p := BaseParts()
		r := *p.Request
		r.Messages = append([]providers.Message(nil), r.Messages...)
		r.Stop = append([]string(nil), r.Stop...)
		p.Request = &r
		change(&p, &r)
		return p
	}
	return map[string]cache.KeyParts{
		"client":              vary(func(p *cache.KeyParts, _ *providers.Request) { p.Client = "client-b" }),
		"no client":           vary(func(p *cache.KeyParts, _ *providers.Request) { p.Client = "" }),
		"route":               vary(func(p *cache.KeyParts, _ *providers.Request) { p.Route = "resume_review" }),
		"variant":             vary(func(p *cache.KeyParts, _ *providers.Request) { p.Variant = "claude_haiku" }),
		"provider":            vary(func(p *cache.KeyParts, _ *providers.Request) { p.Provider = "azure" }),
		"model":               vary(func(p *cache.KeyParts, _ *providers.Request) { p.Model = "gpt-4o" }),
		"route/variant shift": vary(func(p *cache.KeyParts, _ *providers.Request) { p.Route, p.Variant = "career_advicegpt4o", "_mini" }),
		"role":                vary(func(_ *cache.KeyParts, r *providers.Request) { r.Messages[0].Role = providers.RoleUser }),
		"content":             vary(func(_ *cache.KeyParts, r *providers.Request) { r.Messages[1].Content += " " }),
		"content shift": vary(func(_ *cache.KeyParts, r *providers.Request) {
			r.Messages[0].Content, r.Messages[1].Content = r.Messages[0].Content+"How", strings.TrimPrefix(r.Messages[1].Content, "How")
		}),
		"message order": vary(func(_ *cache.KeyParts, r *providers.Request) {
			r.Messages[0], r.Messages[1] = r.Messages[1], r.Messages[0]
		}),
		"extra message": vary(func(_ *cache.KeyParts, r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleUser})
		}),
		"fewer messages":      vary(func(_ *cache.KeyParts, r *providers.Request) { r.Messages = r.Messages[1:] }),
		"max tokens":          vary(func(_ *cache.KeyParts, r *providers.Request) { r.MaxTokens = 601 }),
		"no max tokens":       vary(func(_ *cache.KeyParts, r *providers.Request) { r.MaxTokens = 0 }),
		"temperature":         vary(func(_ *cache.KeyParts, r *providers.Request) { r.Temperature = f(0.70000001) }),
		"temperature 0":       vary(func(_ *cache.KeyParts, r *providers.Request) { r.Temperature = f(0) }),
		"no temperature":      vary(func(_ *cache.KeyParts, r *providers.Request) { r.Temperature = nil }),
		"top_p":               vary(func(_ *cache.KeyParts, r *providers.Request) { r.TopP = f(1) }),
		"no top_p":            vary(func(_ *cache.KeyParts, r *providers.Request) { r.TopP = nil }),
		"temperature↔top_p":   vary(func(_ *cache.KeyParts, r *providers.Request) { r.Temperature, r.TopP = r.TopP, r.Temperature }),
		"stop":                vary(func(_ *cache.KeyParts, r *providers.Request) { r.Stop = []string{"\n"} }),
		"no stop":             vary(func(_ *cache.KeyParts, r *providers.Request) { r.Stop = nil }),
		"empty stop":          vary(func(_ *cache.KeyParts, r *providers.Request) { r.Stop = []string{""} }),
		"more stops":          vary(func(_ *cache.KeyParts, r *providers.Request) { r.Stop = append(r.Stop, "END") }),
		"stop split":          vary(func(_ *cache.KeyParts, r *providers.Request) { r.Stop = []string{"\n", "\n"} }),
		"seed":                vary(func(_ *cache.KeyParts, r *providers.Request) { r.Seed = i(43) }),
		"seed 0":              vary(func(_ *cache.KeyParts, r *providers.Request) { r.Seed = i(0) }),
		"no seed":             vary(func(_ *cache.KeyParts, r *providers.Request) { r.Seed = nil }),
		"no request":          vary(func(p *cache.KeyParts, _ *providers.Request) { p.Request = nil }),
		"message in stop":     vary(func(_ *cache.KeyParts, r *providers.Request) { r.Stop = []string{"\n\n", "user"} }),
		"system to assistant": vary(func(_ *cache.KeyParts, r *providers.Request) { r.Messages[0].Role = providers.RoleAssistant }),
	}
}

// Answer is the entry the suite stores, numbered.
func Answer(n int) cache.Entry {
	return cache.Entry{
		Text:         "Answer " + strconv.Itoa(n) + ": learn SQL, then Python, then build a pipeline.",
		FinishReason: providers.FinishStop,
		Usage:        providers.Usage{InputTokens: 120, OutputTokens: 40 + int64(n), CachedInputTokens: 64, CacheCreationInputTokens: 8},
		Provider:     "openai",
		Model:        "gpt-4o-mini-2024-07-18",
		ResponseID:   "chatcmpl-" + strconv.Itoa(n),
	}
}

// answerOf is e without its times, to compare answers.
func answerOf(e cache.Entry) cache.Entry {
	e.CreatedAt, e.ExpiresAt, e.StaleUntil = time.Time{}, time.Time{}, time.Time{}
	return e
}

func set(t *testing.T, s cache.Store, k cache.Key, e cache.Entry, ttl, maxStale time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), k, e, ttl, maxStale); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

func get(t *testing.T, s cache.Store, k cache.Key) (cache.Entry, cache.State) {
	t.Helper()
	e, st, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if st == cache.Miss && e != (cache.Entry{}) {
		t.Fatalf("Get: a miss with an entry: %+v", e)
	}
	return e, st
}

func wantMiss(t *testing.T, s cache.Store, k cache.Key) {
	t.Helper()
	if e, st := get(t, s, k); st != cache.Miss {
		t.Fatalf("Get = %v %+v, want a miss", st, e)
	}
}

func testMiss(t *testing.T, s cache.Store) {
	wantMiss(t, s, cache.NewKey(BaseParts()))
	if err := s.Delete(context.Background(), cache.NewKey(BaseParts())); err != nil {
		t.Errorf("Delete of a missing entry: %v", err)
	}
}

func testFreshHit(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	before := time.Now()
	set(t, s, k, Answer(1), time.Hour, 2*time.Hour)
	after := time.Now()
	e, st := get(t, s, k)
	if st != cache.Fresh {
		t.Fatalf("state %v, want fresh", st)
	}
	if got, want := answerOf(e), Answer(1); got != want {
		t.Errorf("answer\n got %+v\nwant %+v", got, want)
	}
	if e.CreatedAt.Before(before.Truncate(time.Millisecond)) || e.CreatedAt.After(after) {
		t.Errorf("CreatedAt %v not within [%v, %v]", e.CreatedAt, before, after)
	}
	if e.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt in %v, want UTC", e.CreatedAt.Location())
	}
	if d := e.ExpiresAt.Sub(e.CreatedAt); d != time.Hour {
		t.Errorf("ExpiresAt is CreatedAt + %v, want 1h", d)
	}
	if d := e.StaleUntil.Sub(e.ExpiresAt); d != 2*time.Hour {
		t.Errorf("StaleUntil is ExpiresAt + %v, want 2h", d)
	}
	// Stamping is the store's job: times in the entry given are replaced.
	old := Answer(2)
	old.CreatedAt = time.Unix(0, 0)
	old.ExpiresAt = time.Unix(1, 0)
	old.StaleUntil = time.Unix(2, 0)
	set(t, s, k, old, time.Hour, 0)
	if e, st := get(t, s, k); st != cache.Fresh || e.CreatedAt.Before(before.Truncate(time.Millisecond)) {
		t.Errorf("entry with old times: %v, CreatedAt %v", st, e.CreatedAt)
	}
}

// testExactRoundTrip stores an answer with every byte value, invalid
// UTF-8, extreme counts and unusual finish reasons.
func testExactRoundTrip(t *testing.T, s cache.Store) {
	var all strings.Builder
	for b := range 256 {
		all.WriteByte(byte(b))
	}
	entries := []cache.Entry{
		{},
		{Text: all.String() + "héllo, 世界 🎉 \xff\xfe", FinishReason: "vendor_specific", Provider: "p", Model: "m", ResponseID: "\x00id"},
		{Text: "x", Usage: providers.Usage{InputTokens: -1, OutputTokens: 1<<63 - 1, CachedInputTokens: -1 << 63, CacheCreationInputTokens: 1}},
		{Text: strings.Repeat("long answer ", 4000), FinishReason: providers.FinishLength},
	}
	for i, want := range entries {
		k := cache.NewKey(cache.KeyParts{Client: "rt", Route: strconv.Itoa(i)})
		set(t, s, k, want, time.Hour, time.Hour)
		e, st := get(t, s, k)
		if st != cache.Fresh {
			t.Fatalf("entry %d: state %v", i, st)
		}
		if got := answerOf(e); got != want {
			t.Errorf("entry %d does not round-trip:\n got %#v\nwant %#v", i, got, want)
		}
	}
}

// eventually polls fn every few milliseconds until it returns true or
// timeout passes.
func eventually(timeout time.Duration, fn func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if fn() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testStaleAfterTTL(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	const ttl = 50 * time.Millisecond
	start := time.Now()
	set(t, s, k, Answer(1), ttl, time.Hour)
	var st cache.State
	var e cache.Entry
	if !eventually(5*time.Second, func() bool {
		e, st = get(t, s, k)
		return st != cache.Fresh
	}) {
		t.Fatal("still fresh 5s after a TTL of 50ms")
	}
	if st != cache.Stale {
		t.Fatalf("state %v after the TTL, want stale", st)
	}
	if el := time.Since(start); el < ttl {
		t.Errorf("stale %v after Set, before its TTL of %v", el, ttl)
	}
	if got := answerOf(e); got != Answer(1) {
		t.Errorf("stale answer %+v", got)
	}
}

func testGoneAfterMaxStale(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	const ttl, maxStale = 30 * time.Millisecond, 60 * time.Millisecond
	start := time.Now()
	set(t, s, k, Answer(1), ttl, maxStale)
	seen := map[cache.State]bool{}
	if !eventually(5*time.Second, func() bool {
		_, st := get(t, s, k)
		el := time.Since(start)
		seen[st] = true
		if st == cache.Miss && el < ttl+maxStale {
			t.Fatalf("gone %v after Set, before ttl+maxStale %v", el, ttl+maxStale)
		}
		return st == cache.Miss
	}) {
		t.Fatal("still there 5s after ttl+maxStale of 90ms")
	}
	if !seen[cache.Stale] && !seen[cache.Fresh] {
		t.Errorf("never seen before it was gone: %v", seen)
	}
}

func testNoMaxStale(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	set(t, s, k, Answer(1), 20*time.Millisecond, 0)
	if !eventually(5*time.Second, func() bool {
		_, st := get(t, s, k)
		if st == cache.Stale {
			t.Fatal("stale with a maxStale of 0")
		}
		return st == cache.Miss
	}) {
		t.Fatal("still fresh 5s after a TTL of 20ms")
	}
}

func testOverwrite(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	set(t, s, k, Answer(1), time.Hour, 0)
	set(t, s, k, Answer(2), time.Hour, 0)
	if e, st := get(t, s, k); st != cache.Fresh || answerOf(e) != Answer(2) {
		t.Errorf("after overwrite: %v %+v", st, e)
	}
}

func testDelete(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	set(t, s, k, Answer(1), time.Hour, time.Hour)
	if err := s.Delete(context.Background(), k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMiss(t, s, k)
}

func testPartitionByClient(t *testing.T, s cache.Store) {
	a := BaseParts()
	b := BaseParts()
	b.Client = "client-b"
	set(t, s, cache.NewKey(a), Answer(1), time.Hour, time.Hour)
	wantMiss(t, s, cache.NewKey(b))
	set(t, s, cache.NewKey(b), Answer(2), time.Hour, time.Hour)
	if e, _ := get(t, s, cache.NewKey(a)); answerOf(e) != Answer(1) {
		t.Errorf("client a reads %+v", e)
	}
	if e, _ := get(t, s, cache.NewKey(b)); answerOf(e) != Answer(2) {
		t.Errorf("client b reads %+v", e)
	}
}

func testAnyChangeIsAnotherKey(t *testing.T, s cache.Store) {
	base := cache.NewKey(BaseParts())
	set(t, s, base, Answer(0), time.Hour, time.Hour)
	seen := map[cache.Key]string{base: "base"}
	for name, p := range Variations() {
		k := cache.NewKey(p)
		if other, dup := seen[k]; dup {
			t.Errorf("%q has the key of %q", name, other)
			continue
		}
		seen[k] = name
		wantMiss(t, s, k)
	}
	// The same request built anew is the same key.
	if cache.NewKey(BaseParts()) != base {
		t.Error("two equal requests have different keys")
	}
	if e, st := get(t, s, base); st != cache.Fresh || answerOf(e) != Answer(0) {
		t.Errorf("base: %v %+v", st, e)
	}
}

func testTooLarge(t *testing.T, s cache.Store) {
	ctx := context.Background()
	e := Answer(1)
	e.Text = ""
	e.Text = strings.Repeat("a", MaxEntryBytes-e.Size()-2) // the length prefix grows by 2
	if e.Size() != MaxEntryBytes {
		t.Fatalf("test entry of %d bytes, want %d", e.Size(), MaxEntryBytes)
	}
	k := cache.NewKey(BaseParts())
	set(t, s, k, e, time.Hour, 0)
	if got, st := get(t, s, k); st != cache.Fresh || got.Text != e.Text {
		t.Fatalf("entry at the limit: %v, %d bytes of text", st, len(got.Text))
	}

	big := e
	big.Text += "a"
	k2 := cache.NewKey(Variations()["client"])
	err := s.Set(ctx, k2, big, time.Hour, 0)
	if !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("Set of %d bytes (limit %d) = %v, want ErrTooLarge", big.Size(), MaxEntryBytes, err)
	}
	var tl *cache.TooLargeError
	if !errors.As(err, &tl) || tl.Size != big.Size() || tl.Max != MaxEntryBytes {
		t.Errorf("error %#v, want size %d max %d", err, big.Size(), MaxEntryBytes)
	}
	wantMiss(t, s, k2)
	// An oversized overwrite leaves the old entry alone.
	if err := s.Set(ctx, k, big, time.Hour, 0); !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("oversized overwrite: %v", err)
	}
	if _, st := get(t, s, k); st != cache.Fresh {
		t.Errorf("entry after a refused overwrite: %v", st)
	}
}

func testInvalidTTL(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	for _, c := range []struct{ ttl, maxStale time.Duration }{{0, time.Hour}, {-time.Second, 0}, {time.Hour, -time.Second}} {
		if err := s.Set(context.Background(), k, Answer(1), c.ttl, c.maxStale); !errors.Is(err, cache.ErrInvalidTTL) {
			t.Errorf("Set(ttl %v, maxStale %v) = %v, want ErrInvalidTTL", c.ttl, c.maxStale, err)
		}
	}
	wantMiss(t, s, k)
}

// testConcurrent sets and gets a few keys from many goroutines: every hit
// must be the answer of its own key (run it with -race).
func testConcurrent(t *testing.T, s cache.Store) {
	const keys, workers, ops = 8, 8, 100
	ks := make([]cache.Key, keys)
	for i := range ks {
		p := BaseParts()
		p.Client = "client-" + strconv.Itoa(i)
		ks[i] = cache.NewKey(p)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			for n := range ops {
				i := (w + n) % keys
				if (w+n)%3 == 0 {
					if err := s.Set(ctx, ks[i], Answer(i), time.Hour, time.Hour); err != nil {
						errs <- fmt.Errorf("set: %w", err)
						return
					}
					continue
				}
				e, st, err := s.Get(ctx, ks[i])
				if err != nil {
					errs <- fmt.Errorf("get: %w", err)
					return
				}
				if st != cache.Miss && answerOf(e) != Answer(i) {
					errs <- fmt.Errorf("key %d answered %+v", i, e)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, k := range ks {
		if e, st := get(t, s, k); st != cache.Fresh || answerOf(e) != Answer(i) {
			t.Errorf("key %d after the storm: %v %+v", i, st, e)
		}
	}
}

// RichAnswer is an answer with every kind of part the cache holds:
// thinking with its signature, a redacted thinking block, text, and two
// tool calls with their ids, names and arguments.
func RichAnswer() cache.Entry {
	parts := []providers.Part{
		{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "The user wants two lookups.", Signature: "EqQBCkYIBxgCKkD"}},
		{Kind: providers.PartThinking, Thinking: &providers.Thinking{Redacted: "EmwKAhgBEgy3va3pzix"}},
		{Kind: providers.PartText, Text: "Let me check both cities."},
		{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "toolu_01A", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
		{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "toolu_01B", Name: "get_weather", Arguments: `{"city":"東京","unit":"c"}`}},
	}
	e := Answer(7)
	e.Text = "Let me check both cities."
	e.FinishReason = providers.FinishToolCalls
	e.Parts = &parts
	return e
}

func testRichRoundTrip(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	want := RichAnswer()
	set(t, s, k, want, time.Hour, time.Hour)
	// The store keeps its own copy: changing the caller's parts after
	// Set changes nothing stored.
	want.PartList()[3].ToolCall.Arguments = "{}"
	want = RichAnswer()
	e, st := get(t, s, k)
	if st != cache.Fresh {
		t.Fatalf("state %v, want fresh", st)
	}
	if e.Parts == nil {
		t.Fatal("the parts were lost")
	}
	got := answerOf(e)
	if !reflect.DeepEqual(got.PartList(), want.PartList()) {
		t.Errorf("parts\n got %s\nwant %s", showParts(got.PartList()), showParts(want.PartList()))
	}
	got.Parts, want.Parts = nil, nil
	if got != want {
		t.Errorf("answer\n got %+v\nwant %+v", got, want)
	}
	r := e.Response()
	if !reflect.DeepEqual(r.PartList(), RichAnswer().PartList()) || r.FinishReason != providers.FinishToolCalls {
		t.Errorf("Response() = %+v, parts %s", r, showParts(r.PartList()))
	}
}

func testNotStorable(t *testing.T, s cache.Store) {
	k := cache.NewKey(BaseParts())
	for name, p := range map[string]providers.Part{
		"image":       {Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.png"}},
		"tool result": {Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "x", Content: "y"}},
		"cache point": {Kind: providers.PartText, Text: "x", CachePoint: &providers.CachePoint{}},
	} {
		e := RichAnswer()
		parts := append(e.PartList(), p)
		e.Parts = &parts
		if err := s.Set(context.Background(), k, e, time.Hour, time.Hour); !errors.Is(err, cache.ErrNotStorable) {
			t.Errorf("%s: Set err %v, want ErrNotStorable", name, err)
		}
		wantMiss(t, s, k)
	}
}

func showParts(parts []providers.Part) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "[%s %q", p.Kind, p.Text)
		if c := p.ToolCall; c != nil {
			fmt.Fprintf(&b, " call %q %q %q", c.ID, c.Name, c.Arguments)
		}
		if th := p.Thinking; th != nil {
			fmt.Fprintf(&b, " thinking %q %q %q", th.Text, th.Signature, th.Redacted)
		}
		b.WriteString("]")
	}
	return b.String()
}
