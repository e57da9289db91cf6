package cooldown_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/cooldown/cooldowntest"
	"github.com/careerpath/llmgateway/internal/redistest"
)

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialTimeout: time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisStore(t *testing.T) {
	c := newClient(t, redistest.Start(t))
	var n atomic.Int64
	cooldowntest.Run(t, func(*testing.T) cooldown.Store {
		// One server for the suite, a fresh prefix per subtest.
		prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
		return cooldown.NewRedisStore(c, cooldown.RedisOptions{Prefix: prefix, Timeout: time.Second})
	})
}

// TestRedisReplicas: a cooldown one replica holds is seen by another on
// the same Redis.
func TestRedisReplicas(t *testing.T) {
	addr := redistest.Start(t)
	a := cooldown.NewRedisStore(newClient(t, addr), cooldown.RedisOptions{Timeout: time.Second})
	b := cooldown.NewRedisStore(newClient(t, addr), cooldown.RedisOptions{Timeout: time.Second})
	ctx := context.Background()
	if err := a.Hold(ctx, "openai", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d, err := b.Remaining(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	if d <= 20*time.Second || d > 30*time.Second {
		t.Fatalf("the other replica sees %v left of a 30s cooldown", d)
	}
}

// TestRedisDown: a store whose Redis is gone reports an error at once,
// never a cooldown.
func TestRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	s := cooldown.NewRedisStore(newClient(t, srv.Addr()), cooldown.RedisOptions{Timeout: time.Second})
	srv.Kill()
	d, err := s.Remaining(context.Background(), "openai")
	if err == nil || d != 0 {
		t.Fatalf("Remaining with Redis down = %v, %v; want 0 and an error", d, err)
	}
}
