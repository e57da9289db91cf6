package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
)

// Example shows the request path: look the request up; on a miss, make
// one upstream call however many identical requests arrive at once, and
// store its answer; hand the failover chain a stale lookup.
func Example() {
	store := cache.NewMemoryStore(cache.MemoryOptions{})
	defer func() { _ = store.Close() }()
	var group cache.Group
	ctx := context.Background()

	req := &providers.Request{
		Model:    "gpt-4o-mini",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "How do I move from QA into data engineering?"}},
	}
	key := cache.NewKey(cache.KeyParts{
		Client: "rails-app", Route: "career_advice", Variant: "gpt4o_mini",
		Provider: "openai", Model: "gpt-4o-mini", Request: req,
	})

	// The chain's stale-if-error step.
	var stale resilience.StaleFunc = cache.StaleFunc(store, key)
	_ = stale

	answer := func() (cache.Entry, string) {
		if e, st, err := store.Get(ctx, key); err == nil && st == cache.Fresh {
			return e, "cache"
		}
		e, shared, err := group.Do(ctx, key, func(ctx context.Context) (cache.Entry, error) {
			resp := &providers.Response{Text: "Learn SQL, then Python, then build a pipeline.", FinishReason: providers.FinishStop}
			e := cache.NewEntry("openai", resp) // resp from the provider call
			// A failed Set is logged, never the caller's failure.
			_ = store.Set(ctx, key, e, time.Hour, 24*time.Hour)
			return e, nil
		})
		if err != nil {
			return cache.Entry{}, err.Error()
		}
		if shared {
			return e, "coalesced"
		}
		return e, "provider"
	}

	e, from := answer()
	fmt.Printf("%s %q\n", from, e.Text)
	e, from = answer()
	fmt.Printf("%s, replayed as %q\n", from, e.Chunks(16))
	// Output:
	// provider "Learn SQL, then Python, then build a pipeline."
	// cache, replayed as ["Learn SQL, then" " Python, then" " build a" " pipeline."]
}
