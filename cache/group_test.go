package cache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
)

// waitFor polls cond until it holds, failing the test after 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type result struct {
	e      cache.Entry
	shared bool
	err    error
}

func TestGroupCoalesces(t *testing.T) {
	var g cache.Group
	k := keyN(1)
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(context.Context) (cache.Entry, error) {
		calls.Add(1)
		<-release
		return cachetest.Answer(1), nil
	}
	const n = 100
	results := make(chan result, n)
	for range n {
		go func() {
			e, shared, err := g.Do(context.Background(), k, fn)
			results <- result{e, shared, err}
		}()
	}
	waitFor(t, "100 callers", func() bool { return cache.Waiters(&g, k) == n })
	close(release)
	var shared int
	for range n {
		r := <-results
		if r.err != nil || r.e != cachetest.Answer(1) {
			t.Errorf("caller got %+v, %v", r.e, r.err)
		}
		if r.shared {
			shared++
		}
	}
	if c := calls.Load(); c != 1 {
		t.Errorf("fn ran %d times, want 1", c)
	}
	if shared != n-1 {
		t.Errorf("%d callers shared, want %d (all but the one that started the call)", shared, n-1)
	}
	if f := cache.InFlight(&g); f != 0 {
		t.Errorf("%d calls in flight after the result", f)
	}
	// The group shares calls, not results: the next caller calls again.
	if _, shared, _ := g.Do(context.Background(), k, func(context.Context) (cache.Entry, error) {
		return cachetest.Answer(2), nil
	}); shared || calls.Load() != 1 {
		t.Errorf("a later call joined a finished one (shared %v)", shared)
	}
}

func TestGroupFirstCallerLeaves(t *testing.T) {
	var g cache.Group
	k := keyN(1)
	release := make(chan struct{})
	workCanceled := make(chan struct{})
	fn := func(ctx context.Context) (cache.Entry, error) {
		select {
		case <-release:
			return cachetest.Answer(1), nil
		case <-ctx.Done():
			close(workCanceled)
			return cache.Entry{}, ctx.Err()
		}
	}
	firstCtx, cancelFirst := context.WithCancel(context.Background())
	first := make(chan result, 1)
	go func() {
		e, shared, err := g.Do(firstCtx, k, fn)
		first <- result{e, shared, err}
	}()
	waitFor(t, "the first caller", func() bool { return cache.Waiters(&g, k) == 1 })
	const others = 5
	results := make(chan result, others)
	for range others {
		go func() {
			e, shared, err := g.Do(context.Background(), k, fn)
			results <- result{e, shared, err}
		}()
	}
	waitFor(t, "all callers", func() bool { return cache.Waiters(&g, k) == 1+others })

	cancelFirst()
	select {
	case r := <-first:
		if !errors.Is(r.err, context.Canceled) || r.shared {
			t.Errorf("first caller: %+v, want its own cancellation, not shared", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first caller did not return when its context was canceled")
	}
	if w := cache.Waiters(&g, k); w != others {
		t.Errorf("%d waiters after the first left, want %d", w, others)
	}
	close(release)
	for range others {
		if r := <-results; r.err != nil || r.e != cachetest.Answer(1) || !r.shared {
			t.Errorf("other caller: %+v", r)
		}
	}
	select {
	case <-workCanceled:
		t.Error("the work was canceled with callers still waiting")
	default:
	}
}

func TestGroupAllCallersLeave(t *testing.T) {
	var g cache.Group
	k := keyN(1)
	var calls atomic.Int32
	workErr := make(chan error, 2)
	fn := func(ctx context.Context) (cache.Entry, error) {
		calls.Add(1)
		<-ctx.Done()
		workErr <- ctx.Err()
		return cache.Entry{}, ctx.Err()
	}
	const n = 3
	cancels := make([]context.CancelFunc, n)
	var wg sync.WaitGroup
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		wg.Go(func() {
			if _, _, err := g.Do(ctx, k, fn); !errors.Is(err, context.Canceled) {
				t.Errorf("caller %d: %v, want canceled", i, err)
			}
		})
		waitFor(t, "the caller", func() bool { return cache.Waiters(&g, k) == i+1 })
	}
	for _, cancel := range cancels[:n-1] {
		cancel()
	}
	waitFor(t, "two callers gone", func() bool { return cache.Waiters(&g, k) == 1 })
	select {
	case err := <-workErr:
		t.Fatalf("work ended (%v) with a caller waiting", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancels[n-1]()
	select {
	case err := <-workErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("work's context ended with %v, want canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the work was not canceled when every caller had gone")
	}
	wg.Wait()
	waitFor(t, "the call forgotten", func() bool { return cache.InFlight(&g) == 0 })

	// The next caller starts a new call rather than joining the canceled one.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, shared, _ := g.Do(ctx, k, fn)
	if shared || calls.Load() != 2 {
		t.Errorf("after all left: shared %v, %d calls; want a new call", shared, calls.Load())
	}
	waitFor(t, "the second call to end", func() bool { return cache.InFlight(&g) == 0 })
}

func TestGroupErrorAndPanic(t *testing.T) {
	var g cache.Group
	boom := errors.New("upstream failed")
	_, _, err := g.Do(context.Background(), keyN(1), func(context.Context) (cache.Entry, error) {
		return cache.Entry{}, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err %v, want %v", err, boom)
	}
	_, _, err = g.Do(context.Background(), keyN(2), func(context.Context) (cache.Entry, error) {
		panic("provider bug")
	})
	var pe *cache.PanicError
	if !errors.As(err, &pe) || pe.Value != "provider bug" || !strings.Contains(string(pe.Stack), "group_test.go") {
		t.Errorf("panic became %v", err)
	}
	if f := cache.InFlight(&g); f != 0 {
		t.Errorf("%d calls in flight", f)
	}
}

type ctxKey struct{}

// TestGroupWorkContext: the work keeps the first caller's values, not its
// deadline, and is bounded by the group's timeout.
func TestGroupWorkContext(t *testing.T) {
	g := cache.Group{Timeout: 50 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "trace-1"), time.Hour)
	defer cancel()
	start := time.Now()
	_, _, err := g.Do(ctx, keyN(1), func(ctx context.Context) (cache.Entry, error) {
		if v := ctx.Value(ctxKey{}); v != "trace-1" {
			t.Errorf("value %v in the work's context", v)
		}
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Minute {
			t.Errorf("work deadline %v (set %v), want the group's 50ms", d, ok)
		}
		<-ctx.Done()
		return cache.Entry{}, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestGroupKeysIndependent(t *testing.T) {
	var g cache.Group
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(context.Context) (cache.Entry, error) {
		calls.Add(1)
		<-release
		return cache.Entry{}, nil
	}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { _, _, _ = g.Do(context.Background(), keyN(i), fn) })
	}
	waitFor(t, "two calls", func() bool { return calls.Load() == 2 })
	close(release)
	wg.Wait()
}

func BenchmarkGroupDo(b *testing.B) {
	var g cache.Group
	k := keyN(1)
	e := cachetest.Answer(1)
	fn := func(context.Context) (cache.Entry, error) { return e, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = g.Do(ctx, k, fn)
	}
}

// BenchmarkGroupDoDeep is BenchmarkGroupDo with work as deep as a
// provider call through the resilience policies and the HTTP client: its
// goroutine needs a stack of tens of KiB.
func BenchmarkGroupDoDeep(b *testing.B) {
	var g cache.Group
	k := keyN(1)
	e := cachetest.Answer(1)
	fn := func(context.Context) (cache.Entry, error) { deep(120); return e, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = g.Do(ctx, k, fn)
	}
}

// deep recurses n frames of about 200 bytes each.
//
//go:noinline
func deep(n int) byte {
	var pad [160]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[n%len(pad)]
}

func TestGroupCallerAlreadyGone(t *testing.T) {
	var g cache.Group
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := g.Do(ctx, keyN(1), func(context.Context) (cache.Entry, error) {
		t.Error("work started for a caller who had gone")
		return cache.Entry{}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

// FinishedSince is what lets a caller whose lookup missed skip a second
// lookup: it reports a call for the key that finished after the mark, and
// nothing before the first one or after the mark of the last.
func TestGroupFinishedSince(t *testing.T) {
	var g cache.Group
	k := keyN(1)
	other := keyN(2)
	for i := 3; cache.SameSlot(k, other); i++ {
		other = keyN(i)
	}
	before := g.Mark()
	if g.FinishedSince(k, before) {
		t.Fatal("a call finished in a new group")
	}
	fn := func(context.Context) (cache.Entry, error) { return cachetest.Answer(1), nil }
	if _, _, err := g.Do(context.Background(), other, fn); err != nil {
		t.Fatal(err)
	}
	if g.FinishedSince(k, before) {
		t.Error("a call for another key (of another slot) counts for this one")
	}
	if !g.FinishedSince(other, before) {
		t.Error("the call that finished is not reported")
	}
	// A call that fails finishes too: what it stored is not the group's
	// business.
	if _, _, err := g.Do(context.Background(), k, func(context.Context) (cache.Entry, error) {
		return cache.Entry{}, errors.New("upstream down")
	}); err == nil {
		t.Fatal("the error was lost")
	}
	if !g.FinishedSince(k, before) {
		t.Error("the failed call is not reported")
	}
	after := g.Mark()
	if g.FinishedSince(k, after) || g.FinishedSince(other, after) {
		t.Error("calls that finished before the mark are reported")
	}
	// A call in flight when the mark is taken and finishing after it is
	// reported: the caller that took the mark may have looked up before its
	// work stored anything.
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = g.Do(context.Background(), k, func(context.Context) (cache.Entry, error) {
			<-release
			return cachetest.Answer(1), nil
		})
	}()
	waitFor(t, "the call", func() bool { return cache.Waiters(&g, k) == 1 })
	during := g.Mark()
	close(release)
	<-done
	if !g.FinishedSince(k, during) {
		t.Error("the call that finished after the mark is not reported")
	}
}

// DoThen hands fn's entry to its callers before then stores it, with a
// channel closed once it is stored, and a caller arriving while then runs
// joins the call instead of starting another: the entry is never out of
// reach.
func TestGroupDoThen(t *testing.T) {
	var g cache.Group
	k := keyN(1)
	var calls atomic.Int32
	fn := func(context.Context) (cache.Entry, error) {
		calls.Add(1)
		return cachetest.Answer(1), nil
	}
	storing := make(chan struct{})
	release := make(chan struct{})
	var got cache.Entry
	then := func(_ context.Context, e cache.Entry) {
		close(storing)
		<-release
		got = e
	}
	before := g.Mark()
	e, shared, stored, err := g.DoThen(context.Background(), k, fn, then)
	if err != nil || shared || e != cachetest.Answer(1) {
		t.Fatalf("first caller: %+v %v %v", e, shared, err)
	}
	<-storing // the caller has the entry before it is stored
	e, shared, stored2, err := g.DoThen(context.Background(), k, func(context.Context) (cache.Entry, error) {
		t.Error("a caller arriving while the entry is stored started another call")
		return cache.Entry{}, nil
	}, nil)
	if err != nil || !shared || e != cachetest.Answer(1) || stored2 != stored {
		t.Errorf("caller during the store: %+v %v %v, want the entry, shared, the same channel", e, shared, err)
	}
	select {
	case <-stored:
		t.Fatal("stored closed before then returned")
	default:
	}
	if g.FinishedSince(k, before) {
		t.Error("the call counts as finished before it stored its entry")
	}
	close(release)
	<-stored
	if got != cachetest.Answer(1) {
		t.Errorf("then stored %+v", got)
	}
	if f := cache.InFlight(&g); f != 0 || !g.FinishedSince(k, before) {
		t.Errorf("once stored: %d calls in flight, finished %v; want the call forgotten and counted", f, g.FinishedSince(k, before))
	}
	if c := calls.Load(); c != 1 {
		t.Errorf("fn ran %d times", c)
	}
}

func TestGroupDoThenNotAfterAFailure(t *testing.T) {
	var g cache.Group
	_, _, stored, err := g.DoThen(context.Background(), keyN(1), func(context.Context) (cache.Entry, error) {
		return cache.Entry{}, errors.New("upstream down")
	}, func(context.Context, cache.Entry) { t.Error("then ran after fn failed") })
	if err == nil {
		t.Fatal("the error was lost")
	}
	select {
	case <-stored:
	default:
		t.Error("nothing to store, but stored is open")
	}
	if f := cache.InFlight(&g); f != 0 {
		t.Errorf("%d calls in flight after the failure", f)
	}
}

func TestGroupDoThenPanics(t *testing.T) {
	var g cache.Group
	e, _, stored, err := g.DoThen(context.Background(), keyN(1), func(context.Context) (cache.Entry, error) {
		return cachetest.Answer(1), nil
	}, func(context.Context, cache.Entry) { panic("store broke") })
	if err != nil || e != cachetest.Answer(1) {
		t.Fatalf("caller: %+v %v, want the entry", e, err)
	}
	<-stored
	if f := cache.InFlight(&g); f != 0 {
		t.Errorf("%d calls in flight after then panicked", f)
	}
}
