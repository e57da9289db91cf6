package cache_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
	"github.com/careerpath/llmgateway/internal/redistest"
)

// clientKinds are the two ways a store talks to Redis: a client that
// honours context deadlines itself, and one with go-redis's defaults,
// which the store bounds on a goroutine of its own.
var clientKinds = []struct {
	name       string
	ctxTimeout bool
}{{"ContextTimeout", true}, {"Defaults", false}}

func newClient(t testing.TB, addr string, ctxTimeout bool) *redis.Client {
	t.Helper()
	opts := &redis.Options{Addr: addr}
	if ctxTimeout {
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1
		opts.DialTimeout = time.Second
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisStore(t *testing.T) {
	for _, kind := range clientKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := newClient(t, redistest.Start(t), kind.ctxTimeout)
			var n atomic.Int64
			cachetest.Run(t, func(*testing.T) cache.Store {
				// One server for the suite, a fresh prefix per subtest.
				prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
				return cache.NewRedisStore(c, cache.RedisOptions{Prefix: prefix, MaxEntryBytes: cachetest.MaxEntryBytes})
			})
		})
	}
}

// TestRedisStoreLayout: one key per entry, named prefix + hex key,
// expiring at the stale limit, holding the encoded entry.
func TestRedisStoreLayout(t *testing.T) {
	c := newClient(t, redistest.Start(t), true)
	s := cache.NewRedisStore(c, cache.RedisOptions{})
	ctx := context.Background()
	k := cache.NewKey(cachetest.BaseParts())
	if err := s.Set(ctx, k, cachetest.Answer(1), time.Minute, 9*time.Minute); err != nil {
		t.Fatal(err)
	}
	name := "llmgw:cache:" + k.String()
	if got := s.Key(k); got != name {
		t.Errorf("Key = %q, want %q", got, name)
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil || len(keys) != 1 || keys[0] != name {
		t.Fatalf("keys %q (%v), want [%q]", keys, err, name)
	}
	ttl, err := c.PTTL(ctx, name).Result()
	if err != nil || ttl > 10*time.Minute || ttl < 10*time.Minute-5*time.Second {
		t.Errorf("PTTL %v (%v), want ttl+maxStale = 10m", ttl, err)
	}
	raw, err := c.Get(ctx, name).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var e cache.Entry
	if err := e.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	if e.StaleUntil.Sub(e.ExpiresAt) != 9*time.Minute || answerOf(e) != cachetest.Answer(1) {
		t.Errorf("stored entry %+v", e)
	}
}

func answerOf(e cache.Entry) cache.Entry {
	e.CreatedAt, e.ExpiresAt, e.StaleUntil = time.Time{}, time.Time{}, time.Time{}
	return e
}

// TestRedisStoreReplicas: two gateway replicas, each with its own client,
// share one Redis: what one stores, the other reads, and deletes.
func TestRedisStoreReplicas(t *testing.T) {
	addr := redistest.Start(t)
	r1 := cache.NewRedisStore(newClient(t, addr, true), cache.RedisOptions{})
	r2 := cache.NewRedisStore(newClient(t, addr, false), cache.RedisOptions{})
	ctx := context.Background()
	for i := range 20 {
		from, to := r1, r2
		if i%2 == 1 {
			from, to = r2, r1
		}
		if err := from.Set(ctx, keyN(i), cachetest.Answer(i), time.Hour, time.Hour); err != nil {
			t.Fatal(err)
		}
		e, st, err := to.Get(ctx, keyN(i))
		if err != nil || st != cache.Fresh || answerOf(e) != cachetest.Answer(i) {
			t.Fatalf("entry %d through the other replica: %v %+v %v", i, st, e, err)
		}
	}
	e1, _, _ := r1.Get(ctx, keyN(3))
	e2, _, _ := r2.Get(ctx, keyN(3))
	if e1 != e2 {
		t.Errorf("replicas disagree:\n%+v\n%+v", e1, e2)
	}
	if err := r2.Delete(ctx, keyN(0)); err != nil {
		t.Fatal(err)
	}
	if _, st, err := r1.Get(ctx, keyN(0)); st != cache.Miss || err != nil {
		t.Errorf("deleted through r2, r1 reads %v %v", st, err)
	}
}

// TestRedisStoreKilled: Redis dies mid-test. Every operation fails fast
// (a miss and an error within 200ms), and the store works again once
// Redis is back.
func TestRedisStoreKilled(t *testing.T) {
	for _, kind := range clientKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := redistest.StartServer(t)
			obs := &counter{}
			s := cache.NewRedisStore(newClient(t, srv.Addr(), kind.ctxTimeout), cache.RedisOptions{Observer: obs})
			ctx := context.Background()
			k := keyN(1)
			if err := s.Set(ctx, k, cachetest.Answer(1), time.Hour, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, st, err := s.Get(ctx, k); st != cache.Fresh || err != nil {
				t.Fatalf("before the kill: %v %v", st, err)
			}

			srv.Kill()
			for i := range 5 {
				start := time.Now()
				e, st, err := s.Get(ctx, k)
				if el := time.Since(start); el > 200*time.Millisecond {
					t.Errorf("Get %d took %v with Redis down", i, el)
				}
				if st != cache.Miss || err == nil || e != (cache.Entry{}) {
					t.Errorf("Get %d with Redis down: %v %+v %v; want a miss and an error", i, st, e, err)
				}
				start = time.Now()
				if err := s.Set(ctx, k, cachetest.Answer(2), time.Hour, 0); err == nil {
					t.Errorf("Set %d with Redis down succeeded", i)
				}
				if el := time.Since(start); el > 200*time.Millisecond {
					t.Errorf("Set %d took %v with Redis down", i, el)
				}
			}
			if n := len(obs.errors(cache.OpGet)); n != 5 {
				t.Errorf("%d get errors observed, want 5", n)
			}
			if m := obs.misses.Load(); m != 5 {
				t.Errorf("%d misses observed, want 5", m)
			}

			srv.Restart() // empty: Redis kept nothing
			waitFor(t, "the store to recover", func() bool {
				_, _, err := s.Get(ctx, k)
				return err == nil
			})
			if _, st, _ := s.Get(ctx, k); st != cache.Miss {
				t.Errorf("after the restart: %v, want a miss", st)
			}
			if err := s.Set(ctx, k, cachetest.Answer(3), time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			if e, st, err := s.Get(ctx, k); st != cache.Fresh || err != nil || answerOf(e) != cachetest.Answer(3) {
				t.Errorf("after recovery: %v %+v %v", st, e, err)
			}
		})
	}
}

// TestRedisStoreUnresponsive: a Redis that never answers costs each
// operation its timeout, not the client's (go-redis's default read timeout
// is seconds).
func TestRedisStoreUnresponsive(t *testing.T) {
	for _, kind := range clientKinds {
		t.Run(kind.name, func(t *testing.T) {
			addr := redistest.Blackhole(t) // registered first: its cleanup runs after the client's close
			// The pause after a failure is off: this test is about timeouts.
			s := cache.NewRedisStore(newClient(t, addr, kind.ctxTimeout), cache.RedisOptions{Timeout: 50 * time.Millisecond, PauseAfterError: -1})
			ctx := context.Background()
			start := time.Now()
			_, st, err := s.Get(ctx, keyN(1))
			if el := time.Since(start); el > 200*time.Millisecond {
				t.Errorf("Get took %v, timeout 50ms", el)
			}
			if st != cache.Miss || err == nil {
				t.Errorf("Get: %v %v, want a miss and an error", st, err)
			}
			start = time.Now()
			if err := s.Set(ctx, keyN(1), cachetest.Answer(1), time.Hour, 0); err == nil {
				t.Error("Set succeeded")
			}
			if el := time.Since(start); el > 200*time.Millisecond {
				t.Errorf("Set took %v, timeout 50ms", el)
			}
			// A caller's own shorter deadline wins.
			short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
			defer cancel()
			start = time.Now()
			if _, _, err := s.Get(short, keyN(1)); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Get with a 5ms deadline: %v", err)
			}
			if el := time.Since(start); el > 45*time.Millisecond {
				t.Errorf("Get with a 5ms deadline took %v", el)
			}
		})
	}
}

func TestRedisStoreCorruptValue(t *testing.T) {
	c := newClient(t, redistest.Start(t), true)
	s := cache.NewRedisStore(c, cache.RedisOptions{})
	ctx := context.Background()
	k := keyN(1)
	if err := c.Set(ctx, s.Key(k), "not an entry", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, st, err := s.Get(ctx, k); st != cache.Miss || !errors.Is(err, cache.ErrCorrupt) {
		t.Errorf("corrupt value: %v %v, want a miss and ErrCorrupt", st, err)
	}
	// The next Set repairs it.
	if err := s.Set(ctx, k, cachetest.Answer(1), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if _, st, err := s.Get(ctx, k); st != cache.Fresh || err != nil {
		t.Errorf("after Set: %v %v", st, err)
	}
}

func TestRedisStoreObserver(t *testing.T) {
	obs := &counter{}
	s := cache.NewRedisStore(newClient(t, redistest.Start(t), true), cache.RedisOptions{MaxEntryBytes: 1024, Observer: obs})
	testObserver(t, s, obs, 1024)
}

func BenchmarkRedisStore(b *testing.B) {
	for _, kind := range clientKinds {
		b.Run(kind.name, func(b *testing.B) {
			s := cache.NewRedisStore(newClient(b, redistest.Start(b), kind.ctxTimeout), cache.RedisOptions{Timeout: time.Second})
			ctx := context.Background()
			e := benchEntry()
			k := keyN(1)
			b.Run("Set", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := s.Set(ctx, k, e, time.Hour, time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Get", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, st, err := s.Get(ctx, k); err != nil || st != cache.Fresh {
						b.Fatal(st, err)
					}
				}
			})
			b.Run("GetParallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, st, err := s.Get(ctx, k); err != nil || st != cache.Fresh {
							b.Error(st, err)
							return
						}
					}
				})
			})
		})
	}
}

func TestRedisStorePausesAfterAFailure(t *testing.T) {
	addr := redistest.Blackhole(t)
	s := cache.NewRedisStore(newClient(t, addr, true), cache.RedisOptions{Timeout: 50 * time.Millisecond, PauseAfterError: time.Minute})
	ctx := context.Background()
	if _, st, err := s.Get(ctx, keyN(1)); st != cache.Miss || err == nil {
		t.Fatalf("first Get: %v %v", st, err)
	}
	// While paused, a lookup is a miss at once: requests do not wait out
	// the timeout one by one while Redis is down.
	start := time.Now()
	for range 10 {
		if _, st, err := s.Get(ctx, keyN(1)); st != cache.Miss || !errors.Is(err, cache.ErrPaused) {
			t.Fatalf("paused Get: %v %v", st, err)
		}
	}
	if el := time.Since(start); el > 20*time.Millisecond {
		t.Fatalf("10 paused lookups took %v", el)
	}
}
