package cache_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
)

func newMemory(t testing.TB, opts cache.MemoryOptions) *cache.MemoryStore {
	t.Helper()
	m := cache.NewMemoryStore(opts)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMemoryStore(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return newMemory(t, cache.MemoryOptions{MaxEntryBytes: cachetest.MaxEntryBytes})
	})
}

// counter is an [cache.Observer] that counts.
type counter struct {
	hits, stale, misses, sets, setBytes, evictions atomic.Int64
	mu                                             sync.Mutex
	errs                                           map[cache.Op][]error
}

func (c *counter) Hit()      { c.hits.Add(1) }
func (c *counter) StaleHit() { c.stale.Add(1) }
func (c *counter) Miss()     { c.misses.Add(1) }
func (c *counter) Set(n int) { c.sets.Add(1); c.setBytes.Add(int64(n)) }
func (c *counter) Evict()    { c.evictions.Add(1) }
func (c *counter) Error(op cache.Op, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errs == nil {
		c.errs = map[cache.Op][]error{}
	}
	c.errs[op] = append(c.errs[op], err)
}

func (c *counter) errors(op cache.Op) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs[op]...)
}

func keyN(i int) cache.Key {
	p := cachetest.BaseParts()
	p.Client = "client-" + strconv.Itoa(i)
	return cache.NewKey(p)
}

// testObserver runs the observer's script against s: a miss, a set, a
// hit, a stale hit, a refused entry.
func testObserver(t *testing.T, s cache.Store, obs *counter, maxEntry int) {
	t.Helper()
	ctx := context.Background()
	k := keyN(1)
	if _, st, _ := s.Get(ctx, k); st != cache.Miss {
		t.Fatalf("state %v", st)
	}
	e := cachetest.Answer(1)
	if err := s.Set(ctx, k, e, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := s.Get(ctx, k); st != cache.Fresh {
		t.Fatalf("state %v", st)
	}
	if err := s.Set(ctx, k, e, time.Millisecond, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, st, _ := s.Get(ctx, k); st != cache.Stale {
		t.Fatalf("state %v", st)
	}
	big := e
	big.Text = strings.Repeat("x", maxEntry)
	if err := s.Set(ctx, keyN(2), big, time.Hour, 0); !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("Set too large: %v", err)
	}
	if err := s.Set(ctx, keyN(2), e, 0, 0); !errors.Is(err, cache.ErrInvalidTTL) {
		t.Fatalf("Set with no ttl: %v", err)
	}
	if h, sh, m := obs.hits.Load(), obs.stale.Load(), obs.misses.Load(); h != 1 || sh != 1 || m != 1 {
		t.Errorf("hits %d, stale hits %d, misses %d; want 1 each", h, sh, m)
	}
	if n, b := obs.sets.Load(), obs.setBytes.Load(); n != 2 || b != 2*int64(e.Size()) {
		t.Errorf("%d sets of %d bytes, want 2 of %d", n, b, 2*e.Size())
	}
	errs := obs.errors(cache.OpSet)
	if len(errs) != 2 || !errors.Is(errs[0], cache.ErrTooLarge) || !errors.Is(errs[1], cache.ErrInvalidTTL) {
		t.Errorf("set errors %v, want too large and invalid ttl", errs)
	}
}

func TestMemoryStoreObserver(t *testing.T) {
	obs := &counter{}
	s := newMemory(t, cache.MemoryOptions{MaxEntryBytes: 1024, Observer: obs})
	testObserver(t, s, obs, 1024)
	if n := obs.evictions.Load(); n != 0 {
		t.Errorf("%d evictions in a store far from full", n)
	}
}

// TestMemoryStoreBoundedBytes writes five times what the store holds: it
// stays within its bound, evicting (and reporting) the surplus.
func TestMemoryStoreBoundedBytes(t *testing.T) {
	const maxBytes = 256 << 10
	obs := &counter{}
	s := newMemory(t, cache.MemoryOptions{MaxBytes: maxBytes, Observer: obs})
	ctx := context.Background()
	e := cachetest.Answer(0)
	e.Text = strings.Repeat("y", 4<<10)
	const n = 5 * maxBytes / (4 << 10)
	for i := range n {
		if err := s.Set(ctx, keyN(i), e, time.Hour, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	// Eviction trails the writes a little.
	deadline := time.Now().Add(5 * time.Second)
	for s.Bytes() > maxBytes && time.Now().Before(deadline) {
		_, _, _ = s.Get(ctx, keyN(0)) // reads drive maintenance too
		time.Sleep(time.Millisecond)
	}
	if b := s.Bytes(); b > maxBytes {
		t.Fatalf("%d bytes stored, bound %d", b, maxBytes)
	}
	if s.Len() >= n || s.Len() < n/10 {
		t.Errorf("%d of %d entries kept", s.Len(), n)
	}
	if ev := obs.evictions.Load(); ev < int64(n-s.Len())/2 {
		t.Errorf("%d evictions reported, %d entries gone", ev, n-s.Len())
	}
}

// TestMemoryStoreKeepsHotEntries: a frequently read answer survives a
// flood of one-off answers that overflows the store (a plain LRU would
// drop it).
func TestMemoryStoreKeepsHotEntries(t *testing.T) {
	const maxBytes = 128 << 10
	s := newMemory(t, cache.MemoryOptions{MaxBytes: maxBytes})
	ctx := context.Background()
	e := cachetest.Answer(0)
	e.Text = strings.Repeat("z", 2<<10)
	hot := cache.NewKey(cachetest.BaseParts())
	for i := range 45 { // 80% full: the frequency sketch starts at half
		if err := s.Set(ctx, keyN(i), e, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, hot, cachetest.Answer(7), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, st, _ := s.Get(ctx, hot); st != cache.Fresh {
			t.Fatal("hot entry missing before the flood")
		}
		time.Sleep(100 * time.Microsecond) // the access buffers are lossy
	}
	for i := 100; i < 100+10*maxBytes/(2<<10); i++ {
		if err := s.Set(ctx, keyN(i), e, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got, st, _ := s.Get(ctx, hot); st != cache.Fresh || got.Text != cachetest.Answer(7).Text {
		t.Errorf("hot entry after the flood: %v", st)
	}
}

// TestMemoryStoreEntryCapped: a maximum entry size above the store's
// bound is capped at the bound.
func TestMemoryStoreEntryCapped(t *testing.T) {
	s := newMemory(t, cache.MemoryOptions{MaxBytes: 4096, MaxEntryBytes: 1 << 20})
	e := cachetest.Answer(0)
	e.Text = strings.Repeat("x", 8192)
	err := s.Set(context.Background(), keyN(0), e, time.Hour, 0)
	var tl *cache.TooLargeError
	if !errors.As(err, &tl) || tl.Max != 4096 {
		t.Errorf("Set of %d bytes into a 4 KiB store: %v", e.Size(), err)
	}
}

func BenchmarkMemoryStore(b *testing.B) {
	s := newMemory(b, cache.MemoryOptions{})
	ctx := context.Background()
	e := benchEntry()
	const keys = 1024
	ks := make([]cache.Key, keys)
	for i := range ks {
		ks[i] = keyN(i)
		if err := s.Set(ctx, ks[i], e, time.Hour, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, st, _ := s.Get(ctx, ks[i%keys]); st != cache.Fresh {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := s.Set(ctx, ks[i%keys], e, time.Hour, time.Hour); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// benchEntry is a typical answer: about 2 KB of text.
func benchEntry() cache.Entry {
	e := cachetest.Answer(1)
	e.Text = strings.Repeat("Learn SQL well, then Python, then build one real pipeline end to end. ", 30)
	return e
}

func TestStaleFunc(t *testing.T) {
	s := newMemory(t, cache.MemoryOptions{})
	ctx := context.Background()
	stale := cache.StaleFunc(s, keyN(1))
	if r, ok := stale(ctx); ok || r != nil {
		t.Errorf("on a miss: %+v %v", r, ok)
	}
	want := cachetest.Answer(1)
	if err := s.Set(ctx, keyN(1), want, time.Millisecond, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	r, ok := stale(ctx)
	if !ok || r.Text != want.Text || r.ID != want.ResponseID || r.Model != want.Model || r.Usage != want.Usage || r.FinishReason != want.FinishReason {
		t.Errorf("stale answer %+v %v, want %+v", r, ok, want)
	}
	if got := cache.NewEntry(want.Provider, r); got != want {
		t.Errorf("NewEntry(Response()) = %+v, want %+v", got, want)
	}
}
