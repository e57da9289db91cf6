package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	ledger "github.com/careerpath/llmgateway/usage"
)

// The entry of each kind of answer: a fresh one carries its tokens and
// cost, a cache hit what the service noted it saved, stale and degraded
// answers only their count; the client is named, never its key.
func TestLedgerEntry(t *testing.T) {
	at := time.Date(2025, 11, 25, 14, 3, 0, 0, time.UTC)
	l := newLedger(ledger.NewMemoryStore(ledger.MemoryOptions{}), nil, slog.New(slog.DiscardHandler))
	l.now = func() time.Time { return at }
	ctx := auth.NewContext(context.Background(), &auth.Client{Name: "rails-app"})
	// The service notes a hit's saving on the call's record: here
	// 1000 × $0.15 + 500 × $0.60 per million.
	ctx = context.WithValue(ctx, callRecordKey{}, &callRecord{saved: 0.00045})
	u := &gatewayv1.Usage{InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 200}
	dims := ledger.Dims{Client: "rails-app", Provider: "openai", Model: "gpt-4o-mini-2024-07-18", Route: "career_advice"}
	resp := func(from gatewayv1.ServedFrom, cost float64) *gatewayv1.CompleteResponse {
		return &gatewayv1.CompleteResponse{Usage: u, Provider: "openai", Model: "gpt-4o-mini-2024-07-18",
			Route: "career_advice", CostUsd: cost, ServedFrom: from}
	}
	for _, tc := range []struct {
		name string
		a    answerAccount
		want ledger.Entry
	}{
		{"fresh", resp(gatewayv1.ServedFrom_SERVED_FROM_FRESH, 0.00045),
			ledger.Entry{Time: at, Dims: dims, InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 200, Cost: 450_000}},
		{"cache hit", resp(gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT, 0),
			ledger.Entry{Time: at, Dims: dims, CacheHit: true, Saved: 450_000}},
		{"stale", resp(gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE, 0), ledger.Entry{Time: at, Dims: dims}},
		{"degraded", &gatewayv1.StreamResponse{Done: true, Route: "career_advice", ServedFrom: gatewayv1.ServedFrom_SERVED_FROM_DEGRADED},
			ledger.Entry{Time: at, Dims: ledger.Dims{Client: "rails-app", Route: "career_advice"}}},
	} {
		if got := l.entry(ctx, tc.a); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := l.entry(context.Background(), resp(gatewayv1.ServedFrom_SERVED_FROM_FRESH, 0)); got.Client != config.AnonymousClient {
		t.Errorf("no client: %q", got.Client)
	}
}
