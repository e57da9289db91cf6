package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/auth"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	ledger "github.com/careerpath/llmgateway/usage"
)

// BenchmarkUsageInterceptor measures what recording an answer adds to a
// call, per store: in memory, and in a real redis-server on this host
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
			it, _ := l.interceptors()
			ctx := auth.NewContext(context.Background(), &auth.Client{Name: "bench"})
			req := &gatewayv1.CompleteRequest{Route: "openai_only",
				Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"}}}
			info := &grpc.UnaryServerInfo{FullMethod: gatewayv1.LLMGateway_Complete_FullMethodName}
			handler := func(context.Context, any) (any, error) { return benchAnswer, nil }
			b.ReportAllocs()
			for b.Loop() {
				if _, err := it(ctx, req, info, handler); err != nil {
					b.Fatal(err)
				}
			}
			l.Close() // every answer written
			if f := l.Failures(); f != 0 {
				b.Fatalf("%d answers not recorded", f)
			}
		})
	}
}

// benchAnswer is the answer the benchmarks and the writer test record.
var benchAnswer = &gatewayv1.CompleteResponse{
	Text:       "Learn SQL.",
	Usage:      &gatewayv1.Usage{InputTokens: 12, OutputTokens: 3},
	Provider:   "openai",
	Model:      "gpt-4o-mini",
	Route:      "openai_only",
	CostUsd:    0.0000036,
	ServedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH,
}
