package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/routing"
	ledger "github.com/careerpath/llmgateway/usage"
)

// BenchmarkUsageInterceptor measures what recording an answer's outcome
// adds to a call, per store: in memory, and in a real redis-server on this host
// (the ledger's writer writes the answers queued meanwhile in one
// pipelined round trip, after the call). Run it with
//
//	go test -run '^$' -bench UsageInterceptor -benchmem ./gateway/
func BenchmarkUsageInterceptor(b *testing.B) {
	stores := map[string]func(b *testing.B) ledger.Store{
		"memory": func(*testing.B) ledger.Store { return ledger.NewMemoryStore(ledger.MemoryOptions{}) },
		"redis": func(b *testing.B) ledger.Store {
			c := redis.NewClient(&redis.Options{Addr: redistest.Start(b), ContextTimeoutEnabled: true, DialTimeout: time.Second})
			b.Cleanup(func() { _ = c.Close() })
			return ledger.NewRedisStore(c, ledger.RedisOptions{})
		},
	}
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			l := newLedger(stores[name](b), nil, slog.New(slog.DiscardHandler))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				l.Outcome(ctx, benchOutcome)
			}
			l.Close() // every answer written
			if f := l.Failures(); f != 0 {
				b.Fatalf("%d answers not recorded", f)
			}
		})
	}
}

// benchOutcome is the answered call the benchmarks and the writer test
// record.
var benchOutcome = &Outcome{
	Client:     "rails-app",
	Decision:   &routing.Decision{Route: "openai_only"},
	Provider:   "openai",
	Model:      "gpt-4o-mini",
	Usage:      providers.Usage{InputTokens: 12, OutputTokens: 3},
	Cost:       ledger.FromUSD(0.0000036),
	ServedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH,
}
