package server

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

func priceService() *Service {
	return NewService(&Runtime{Config: &config.Config{Providers: config.ProviderSettings{Models: []config.Model{
		{Name: "gpt-4o", Provider: "openai", Price: config.Price{InputPerMTok: 2.5, OutputPerMTok: 10}},
		{Name: "gpt-4o-mini", Provider: "openai", Price: config.Price{InputPerMTok: 0.15, OutputPerMTok: 0.6}},
		{Name: "gpt-4o-mini", Provider: "azure", Price: config.Price{InputPerMTok: 0.2, OutputPerMTok: 0.8}},
		{Name: "claude-3-5-haiku-latest", Provider: "anthropic", Price: config.Price{InputPerMTok: 0.8, OutputPerMTok: 4}},
	}}}})
}

// A model reported as a dated snapshot takes the price of the configured
// model of the same provider it is a snapshot of.
func TestModelPrice(t *testing.T) {
	s := priceService()
	for _, tc := range []struct {
		provider, model string
		input           float64
		ok              bool
	}{
		{"openai", "gpt-4o-mini", 0.15, true},
		{"openai", "gpt-4o-mini-2024-07-18", 0.15, true},
		{"openai", "gpt-4o-2024-08-06", 2.5, true},
		{"azure", "gpt-4o-mini-2024-07-18", 0.2, true},
		{"azure", "gpt-4o", 0, false},
		{"openai", "gpt-4o-minix", 0, false},
		{"openai", "gpt-4o-mini-search", 0, false},
		{"anthropic", "claude-3-5-haiku-20241022", 0.8, true},
		{"anthropic", "claude-3-5-haiku-latest", 0.8, true},
		{"anthropic", "claude-3-5-sonnet-20241022", 0, false},
		{"anthropic", "gpt-4o-mini", 0, false},
	} {
		p, ok := s.modelPrice(tc.provider, tc.model)
		if ok != tc.ok || p.InputPerMTok != tc.input {
			t.Errorf("%s/%s: %+v %v, want input %v %v", tc.provider, tc.model, p, ok, tc.input, tc.ok)
		}
	}
}

// The entry of each kind of answer: a fresh one carries its tokens and
// cost, a cache hit what it saved, stale and degraded answers only their
// count; the client is named, never its key.
func TestLedgerEntry(t *testing.T) {
	s := priceService()
	at := time.Date(2025, 11, 25, 14, 3, 0, 0, time.UTC)
	l := newLedger(ledger.NewMemoryStore(ledger.MemoryOptions{}), s.modelPrice, nil, slog.New(slog.DiscardHandler))
	l.now = func() time.Time { return at }
	ctx := auth.NewContext(context.Background(), &auth.Client{Name: "rails-app"})
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
			// 1000 × $0.15 + 500 × $0.60 per million
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
