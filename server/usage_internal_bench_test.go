package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/internal/redistest"
	ledger "github.com/careerpath/llmgateway/usage"
)

// BenchmarkUsageInterceptor measures what recording an answer adds to a
// call, per store: in memory, and in a real redis-server on this host
// (the ledger's writer writes the answers queued meanwhile in one
// pipelined round trip, after the call). Run it with
//
//	go test -run '^$' -bench UsageInterceptor -benchmem ./server/
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
			s := newBenchSetup(b)
			l := newLedger(stores[name](b), nil, slog.New(slog.DiscardHandler))
			it, _ := l.interceptors()
			s.ctx = auth.NewContext(s.ctx, s.client)
			runUnary(b, s, it)
			l.Close() // every answer written
			if f := l.Failures(); f != 0 {
				b.Fatalf("%d answers not recorded", f)
			}
		})
	}
}
