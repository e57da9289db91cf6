package quota_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/quota/quotatest"
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
	quotatest.Run(t, func(*testing.T) quota.Store {
		// One server for the suite, a fresh prefix per subtest.
		prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
		return quota.NewRedisStore(c, quota.RedisOptions{Prefix: prefix, Timeout: time.Second})
	})
}

// TestRedisReplicas: three limiters on one Redis enforce one limit.
func TestRedisReplicas(t *testing.T) {
	addr := redistest.Start(t)
	const rpm = 600
	limits := config.RateLimits{Limits: []config.Limit{{Name: "shared", Scope: []string{config.ScopeAPIKey}, RequestsPerMinute: rpm}}}
	var replicas []*quota.Limiter
	for range 3 {
		s := quota.NewRedisStore(newClient(t, addr), quota.RedisOptions{Timeout: time.Second})
		replicas = append(replicas, quota.New(limits, quota.Options{Store: s, OnStoreFailure: quota.FailClosed}))
	}
	ctx := context.Background()
	var admitted, refused atomic.Int64
	begin := time.Now()
	var wg sync.WaitGroup
	for _, l := range replicas {
		for range 4 {
			wg.Go(func() {
				for range 100 {
					r, err := l.Reserve(ctx, quota.Request{Client: "web", User: "u"})
					switch {
					case err == nil:
						admitted.Add(1)
						if err := r.Commit(ctx, 0, 0); err != nil {
							t.Error(err)
						}
					case errors.Is(err, quota.ErrExceeded):
						refused.Add(1)
					default:
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	// A full window, plus what refilled while the test ran.
	want := rpm + float64(rpm)*elapsed.Minutes()
	got := float64(admitted.Load())
	t.Logf("admitted %v of 1200 in %v (limit %v)", got, elapsed, want)
	if got < want*0.95 || got > want*1.05 {
		t.Errorf("three replicas admitted %v, want %v ± 5%%", got, want)
	}
}

// TestRedisLayout: keys under llmgw:quota:, every one expiring.
func TestRedisLayout(t *testing.T) {
	c := newClient(t, redistest.Start(t))
	l := quota.New(config.RateLimits{Limits: []config.Limit{{
		Name: "per_user", Scope: []string{config.ScopeUser}, RequestsPerMinute: 10, TokensPerMinute: 1000,
		ConcurrentStreams: 2, USDPerDay: 5, USDPerMonth: 50,
	}}}, quota.Options{Store: quota.NewRedisStore(c, quota.RedisOptions{})})
	ctx := context.Background()
	r, err := l.Reserve(ctx, quota.Request{User: "u42", EstimatedTokens: 100, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(ctx, 50, 0.5); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format("2006-01-02")
	want := map[string]bool{
		"llmgw:quota:per_user|user=u42|rpm":              true,
		"llmgw:quota:per_user|user=u42|tpm":              true,
		"llmgw:quota:per_user|user=u42|streams":          true, // may be gone once empty
		"llmgw:quota:per_user|user=u42|day=" + day:       true,
		"llmgw:quota:per_user|user=u42|month=" + day[:7]: true,
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected key %q", k)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has no expiry (%v)", k, ttl)
		}
	}
	if len(keys) < 4 {
		t.Errorf("keys %q, want rpm, tpm, day and month", keys)
	}
	if v := c.Get(ctx, "llmgw:quota:per_user|user=u42|day="+day).Val(); v != "0.5" {
		t.Errorf("day spend %q, want 0.5", v)
	}
	// EVALSHA falls back to EVAL when the script cache is flushed.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, quota.Request{User: "u42"}); err != nil {
		t.Fatalf("Reserve after SCRIPT FLUSH: %v", err)
	}
}

// TestRedisDown: fail-closed refuses with ErrUnavailable; fail-open
// enforces the same limits locally, then uses Redis again.
func TestRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Addr())
	limits := config.RateLimits{Limits: []config.Limit{{Name: "rpm", RequestsPerMinute: 3}}}
	ev := &quotatest.Events{}
	store := quota.NewRedisStore(c, quota.RedisOptions{Timeout: 200 * time.Millisecond})
	closed := quota.New(limits, quota.Options{Store: store, OnStoreFailure: quota.FailClosed})
	open := quota.New(limits, quota.Options{Store: store, Observer: ev, RetryStoreAfter: 50 * time.Millisecond})
	ctx := context.Background()
	if _, err := open.Reserve(ctx, quota.Request{}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	start := time.Now()
	if _, err := closed.Reserve(ctx, quota.Request{}); !errors.Is(err, quota.ErrUnavailable) {
		t.Fatalf("fail-closed Reserve with Redis down = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the failure took %v", d)
	}
	for i := range 3 { // the local limiter starts empty: 3 more
		r, err := open.Reserve(ctx, quota.Request{})
		if err != nil {
			t.Fatalf("fail-open Reserve %d: %v", i, err)
		}
		if err := r.Commit(ctx, 1, 0); err != nil {
			t.Fatalf("Commit on the local store: %v", err)
		}
	}
	if _, err := open.Reserve(ctx, quota.Request{}); !errors.Is(err, quota.ErrExceeded) {
		t.Fatalf("fail-open limiter admitted past the limit: %v", err)
	}
	if len(ev.Failures) == 0 {
		t.Error("the observer was not told of the store failure")
	}
	srv.Restart()
	time.Sleep(100 * time.Millisecond)
	// Back on Redis (empty after the restart): three more.
	for i := range 3 {
		if _, err := open.Reserve(ctx, quota.Request{}); err != nil {
			t.Fatalf("Reserve %d after Redis returned: %v", i, err)
		}
	}
	if n := c.Exists(ctx, "llmgw:quota:rpm|rpm").Val(); n != 1 {
		t.Error("the limiter did not go back to Redis")
	}
}

// TestRedisUnresponsive: a Redis that accepts connections and never
// answers fails each call at the store's timeout, or at the caller's
// shorter deadline, with a client that honours context deadlines itself
// and with one of go-redis's defaults, which the store bounds on a
// goroutine of its own.
func TestRedisUnresponsive(t *testing.T) {
	for _, ctxTimeout := range []bool{true, false} {
		t.Run("ContextTimeoutEnabled="+strconv.FormatBool(ctxTimeout), func(t *testing.T) {
			addr := redistest.Blackhole(t) // registered first: its cleanup runs after the client's close
			c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: ctxTimeout})
			t.Cleanup(func() { _ = c.Close() })
			s := quota.NewRedisStore(c, quota.RedisOptions{Timeout: 50 * time.Millisecond})
			cs := []quota.Counter{{Key: "k|rpm", Kind: quota.KindRequests, Max: 10, N: 1}}
			ctx := context.Background()
			start := time.Now()
			if _, _, err := s.Reserve(ctx, time.Now(), "id", cs); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Reserve: %v, want a deadline error", err)
			}
			if el := time.Since(start); el > 200*time.Millisecond {
				t.Errorf("Reserve took %v, timeout 50ms", el)
			}
			start = time.Now()
			if _, err := s.Adjust(ctx, time.Now(), "id", cs); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Adjust: %v, want a deadline error", err)
			}
			if el := time.Since(start); el > 200*time.Millisecond {
				t.Errorf("Adjust took %v, timeout 50ms", el)
			}
			short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
			defer cancel()
			start = time.Now()
			if _, _, err := s.Reserve(short, time.Now(), "id", cs); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Reserve with a 5ms deadline: %v", err)
			}
			if el := time.Since(start); el > 45*time.Millisecond {
				t.Errorf("Reserve with a 5ms deadline took %v", el)
			}
		})
	}
}
