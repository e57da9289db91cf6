package cooldown_test

import (
	"context"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/internal/redistest"
)

// The lookup every call to a provider makes: no cooldown in place.
func BenchmarkRemaining(b *testing.B) {
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		s := cooldown.NewMemoryStore()
		_ = s.Hold(ctx, "other", time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Remaining(ctx, "openai"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis", func(b *testing.B) {
		s := cooldown.NewRedisStore(newClient(b, redistest.Start(b)), cooldown.RedisOptions{Timeout: time.Second})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Remaining(ctx, "openai"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
