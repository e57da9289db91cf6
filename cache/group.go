package cache

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/internal/workers"
)

// DefaultGroupTimeout bounds the shared work of a [Group] whose Timeout
// is zero.
const DefaultGroupTimeout = 5 * time.Minute

// Group coalesces concurrent calls for the same [Key] into one call of the
// work function, like golang.org/x/sync/singleflight, but so that no
// single caller's cancellation cancels the work the others wait for.
//
// The first caller of a key starts fn on a goroutine of its own (a worker,
// see internal/workers) with a context
// detached from the caller's ([context.WithoutCancel]: the caller's values,
// such as its trace, without its cancellation or deadline) and bounded by
// Timeout. Callers that arrive while it runs join it. Every caller, the
// first one included, waits on its own context: one that leaves early gets
// its context's error and the others keep waiting. When the last waiting
// caller leaves, fn's context is canceled and the key is forgotten, so the
// next caller starts afresh. When fn returns, every caller still waiting
// gets its result, and the key is forgotten (with [Group.DoThen], once the
// result is stored): the group shares calls in flight, the [Store] keeps
// results.
//
// A caller that looked the key up in the store before calling Do may have
// missed an answer that a call stored between its lookup and Do, which it
// would then fetch again: [Group.Mark], taken before the lookup, and
// [Group.FinishedSince] tell when that can be, so that only then does the
// work look again.
//
// The zero Group is ready to use. A Group must not be copied after first
// use.
type Group struct {
	// Timeout bounds fn's context; 0 means [DefaultGroupTimeout]. It is
	// the deadline of the shared work whatever the callers' deadlines are,
	// so that a caller with a short deadline does not fail the call for
	// one with a long deadline that joins it.
	Timeout time.Duration

	mu    sync.Mutex
	calls map[Key]*call

	// finishes counts the calls that have finished; finished holds, per
	// slot of keys, the count when the last of theirs finished.
	finishes atomic.Uint64
	finished [finishSlots]atomic.Uint64
}

// finishSlots is how many slots [Group.FinishedSince] spreads keys over:
// a call finishing for another key of the same slot makes it report true,
// which costs one more lookup.
const finishSlots = 1024

// Mark is a moment in a [Group]'s history.
type Mark uint64

// Mark returns the present moment, to take before looking a key up in the
// store the group's work fills.
func (g *Group) Mark() Mark { return Mark(g.finishes.Load()) }

// FinishedSince reports whether a call for key may have finished after m
// was taken. It serves the work of a call that a caller started after a
// lookup of key, taken after m, missed: if it reports false, every call
// for key finished before m, so what their work stored was in the store
// before that lookup, and the miss stands. It may report true when no
// call for key finished (one of another key sharing its slot did), never
// false when one did.
func (g *Group) FinishedSince(key Key, m Mark) bool {
	return g.finished[slotOf(key)].Load() > uint64(m)
}

// slotOf is key's slot in Group.finished.
func slotOf(key Key) uint64 { return binary.LittleEndian.Uint64(key[:8]) % finishSlots }

// finish records that a call for key finished: before it is forgotten, so
// that a caller that no longer finds it in flight sees its mark.
func (g *Group) finish(key Key) {
	n := g.finishes.Add(1)
	slot := &g.finished[slotOf(key)]
	for {
		old := slot.Load()
		if old >= n || slot.CompareAndSwap(old, n) {
			return
		}
	}
}

// call is one run of a work function and the callers waiting for it.
type call struct {
	done    chan struct{} // closed when entry and err are set
	stored  chan struct{} // closed when then has run, or will not
	entry   Entry
	err     error
	waiters int // callers waiting; guarded by Group.mu
	cancel  context.CancelFunc
}

// Do returns the result of fn for key, calling fn only if no call for key
// is in flight, and otherwise waiting for that call. shared is true when
// this caller joined a call another caller started: its answer was not
// fetched for it alone, and it cost nothing upstream. When ctx ends first,
// Do returns ctx's error at once; fn's context is canceled only if no
// other caller is waiting. A panic in fn is returned to every caller as an
// error.
func (g *Group) Do(ctx context.Context, key Key, fn func(ctx context.Context) (Entry, error)) (e Entry, shared bool, err error) {
	e, shared, _, err = g.DoThen(ctx, key, fn, nil)
	return e, shared, err
}

// DoThen is [Group.Do] with a second step, then, which stores fn's entry.
// When fn succeeds, every waiting caller gets the entry at once, with
// stored, a channel closed once then has run; then runs on fn's
// goroutine, with its context, before the call is forgotten (and counted
// by [Group.FinishedSince]), and a caller that arrives meanwhile still
// joins the call: the entry is never out of reach, neither in flight nor
// stored. A caller that must not answer before the entry is stored does
// its own work, then waits on stored: the store runs alongside. stored is
// closed already when there is nothing to store (fn failed, or then is
// nil). A panic in then is recovered and dropped: the callers have their
// result.
func (g *Group) DoThen(ctx context.Context, key Key, fn func(ctx context.Context) (Entry, error), then func(ctx context.Context, e Entry)) (e Entry, shared bool, stored <-chan struct{}, err error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, alreadyClosed, err // start nothing for a caller who has gone
	}
	g.mu.Lock()
	if c, ok := g.calls[key]; ok {
		c.waiters++
		g.mu.Unlock()
		return g.wait(ctx, key, c, true)
	}
	if g.calls == nil {
		g.calls = make(map[Key]*call)
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = DefaultGroupTimeout
	}
	workCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	c := &call{done: make(chan struct{}), stored: make(chan struct{}), waiters: 1, cancel: cancel}
	g.calls[key] = c
	g.mu.Unlock()

	workers.Go(func() { g.run(workCtx, key, c, fn, then) })
	return g.wait(ctx, key, c, false)
}

// run calls fn and hands its result to the call's waiters, then, when
// there is then and fn succeeded, calls it before forgetting the call.
func (g *Group) run(ctx context.Context, key Key, c *call, fn func(context.Context) (Entry, error), then func(context.Context, Entry)) {
	defer c.cancel()
	c.entry, c.err = work(ctx, fn)
	if then == nil || c.err != nil {
		g.finish(key)
		g.forget(key, c)
		close(c.stored)
		close(c.done)
		return
	}
	close(c.done)
	func() {
		defer func() { _ = recover() }()
		then(ctx, c.entry)
	}()
	g.finish(key)
	g.forget(key, c)
	close(c.stored)
}

// alreadyClosed is a closed channel.
var alreadyClosed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// work calls fn, turning a panic into a [*PanicError].
func work(ctx context.Context, fn func(context.Context) (Entry, error)) (e Entry, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = Entry{}, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// wait waits for c or for ctx, whichever ends first.
func (g *Group) wait(ctx context.Context, key Key, c *call, shared bool) (Entry, bool, <-chan struct{}, error) {
	select {
	case <-c.done:
		return c.entry, shared, c.stored, c.err
	case <-ctx.Done():
	}
	select {
	case <-c.done: // both ready: the result is worth more than the error
		return c.entry, shared, c.stored, c.err
	default:
	}
	g.mu.Lock()
	c.waiters--
	last := c.waiters == 0
	if last && g.calls[key] == c {
		delete(g.calls, key)
	}
	g.mu.Unlock()
	if last {
		c.cancel()
	}
	return Entry{}, shared, alreadyClosed, ctx.Err()
}

// forget removes c from the calls in flight, unless a newer call for key
// already replaced it.
func (g *Group) forget(key Key, c *call) {
	g.mu.Lock()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	g.mu.Unlock()
}

// PanicError is what callers of [Group.Do] get when the work function
// panicked: the panic does not crash the process from the work's
// goroutine, and every waiting caller learns of it.
type PanicError struct {
	// Value is what fn panicked with.
	Value any
	// Stack is the goroutine's stack at the panic, for the logs; it is
	// not part of the error's message.
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string {
	return fmt.Sprintf("cache: coalesced call panicked: %v", e.Value)
}
