package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/routing"
	ledger "github.com/careerpath/llmgateway/usage"
)

// The entry of each kind of answer: a fresh one carries its tokens and
// cost, a cache hit what the service noted it saved, stale and degraded
// answers only their count; the client is named, never its key.
func TestLedgerEntry(t *testing.T) {
	at := time.Date(2025, 11, 25, 14, 3, 0, 0, time.UTC)
	l := newLedger(ledger.NewMemoryStore(ledger.MemoryOptions{}), nil, slog.New(slog.DiscardHandler))
	l.now = func() time.Time { return at }
	// The service notes a hit's saving on the outcome: here
	// 1000 × $0.15 + 500 × $0.60 per million.
	u := providers.Usage{InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 200}
	dims := ledger.Dims{Client: "rails-app", Provider: "openai", Model: "gpt-4o-mini-2024-07-18", Route: "career_advice"}
	d := &routing.Decision{Route: "career_advice"}
	answer := func(from gatewayv1.ServedFrom, cost float64) *Outcome {
		o := &Outcome{Client: "rails-app", Decision: d, Usage: u, Provider: "openai", Model: "gpt-4o-mini-2024-07-18",
			Cost: ledger.FromUSD(cost), ServedFrom: from}
		if from == gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT {
			o.Saved = ledger.FromUSD(0.00045)
		}
		return o
	}
	for _, tc := range []struct {
		name string
		o    *Outcome
		want ledger.Entry
	}{
		{"fresh", answer(gatewayv1.ServedFrom_SERVED_FROM_FRESH, 0.00045),
			ledger.Entry{Time: at, Dims: dims, InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 200, Cost: 450_000}},
		{"cache hit", answer(gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT, 0),
			ledger.Entry{Time: at, Dims: dims, CacheHit: true, Saved: 450_000}},
		{"stale", answer(gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE, 0), ledger.Entry{Time: at, Dims: dims}},
		{"degraded", &Outcome{Client: "rails-app", Decision: d, Stream: true, ServedFrom: gatewayv1.ServedFrom_SERVED_FROM_DEGRADED},
			ledger.Entry{Time: at, Dims: ledger.Dims{Client: "rails-app", Route: "career_advice"}}},
	} {
		if got := l.entry(tc.o); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := (&Service{}).begin(context.Background(), &gatewayv1.CompleteRequest{}, false); got.Client != config.AnonymousClient {
		t.Errorf("no client: %q", got.Client)
	}
}
