package quota_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/quota"
)

// benchLimits is a realistic set: a global limit, one per client and one
// per user, each with requests, tokens and a budget.
var benchLimits = config.RateLimits{Limits: []config.Limit{
	{Name: "global", RequestsPerMinute: 1 << 30, TokensPerMinute: 1 << 30},
	{Name: "client", Scope: []string{config.ScopeAPIKey}, RequestsPerMinute: 1 << 30, USDPerDay: 1e9},
	{Name: "user", Scope: []string{config.ScopeUser}, RequestsPerMinute: 1 << 30, TokensPerMinute: 1 << 30, USDPerMonth: 1e9},
}}

func benchReserveCommit(b *testing.B, s quota.Store) {
	l := quota.New(benchLimits, quota.Options{Store: s})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r, err := l.Reserve(ctx, quota.Request{Client: "web", User: "u" + strconv.Itoa(i%1000), Route: "advice", EstimatedTokens: 800})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Commit(ctx, 500, 0.001); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReserveCommit(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchReserveCommit(b, quota.NewMemoryStore()) })
	b.Run("redis", func(b *testing.B) {
		c := newClient(b, redistest.Start(b))
		benchReserveCommit(b, quota.NewRedisStore(c, quota.RedisOptions{Timeout: time.Second}))
	})
}
