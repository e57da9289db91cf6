// Package batchwriter writes what requests hand it after their responses
// have left, in batches, to a store that may be slow or down: the usage
// ledger and the experiment recorder both write through one.
package batchwriter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a [Writer].
type Options[T any] struct {
	// Queue is how many items may wait for the writer; past it an item is
	// written by its own caller.
	Queue int
	// Batch is the most items written at once.
	Batch int
	// Linger is how long the writer waits, once it holds an item, for more
	// to join its batch (until Batch): a write then carries the items of
	// several requests even when they come one at a time, so there are
	// fewer of them. Flush and Close cut the wait short; 0 writes at once.
	Linger time.Duration
	// Timeout bounds one call of Write.
	Timeout time.Duration
	// Pause is how long writing stops after Write failed, so that a store
	// outage does not add Timeout to every write; the items handed over
	// meanwhile are counted as lost.
	Pause time.Duration
	// Write writes a batch within ctx and returns how many of its items,
	// from the start, were written before an error. The writer never calls
	// it concurrently itself (callers writing their own item may).
	Write func(ctx context.Context, batch []T) (int, error)
	// Failed, when set, is told of every failed Write and how many items
	// of its batch were not written.
	Failed func(err error, unwritten int)
}

// Writer queues items, in memory, to one goroutine that writes everything
// queued meanwhile (and, with Options.Linger, a little longer) as one
// batch. An item that finds the queue full, or the writer closed, is
// written at once by its own caller, so nothing is dropped for want of
// room. Flush waits for what was queued before it; Close writes what is
// left and stops the goroutine, which starts with the first item. A failed
// write pauses writing for Options.Pause.
type Writer[T any] struct {
	opts Options[T]

	start   sync.Once
	running bool // the goroutine was started; set once, by start
	queue   chan T
	mu      sync.RWMutex // held to send on queue; written to close it
	closed  bool
	exited  chan struct{} // closed when the goroutine has written everything

	queued   atomic.Int64  // items sent on queue, ever
	hurry    chan struct{} // a Flush wants what is held written now
	wmu      sync.Mutex
	written  int64         // items the goroutine has handled; guarded by wmu
	progress chan struct{} // closed and replaced when written grows; guarded by wmu

	pausedUntil atomic.Int64 // unix nanoseconds
	lost        atomic.Int64
}

// New returns a writer with opts.
func New[T any](opts Options[T]) *Writer[T] {
	return &Writer[T]{opts: opts, queue: make(chan T, opts.Queue),
		exited: make(chan struct{}), progress: make(chan struct{}), hurry: make(chan struct{}, 1)}
}

// Lost is the number of items not written: those of failed writes and
// those handed over while writing paused after one.
func (w *Writer[T]) Lost() int64 { return w.lost.Load() }

// Add queues v for the writer, or writes it itself when the queue is full
// or the writer closed.
func (w *Writer[T]) Add(v T) {
	w.mu.RLock()
	if !w.closed {
		w.start.Do(func() { w.running = true; go w.run() })
		select {
		case w.queue <- v:
			w.queued.Add(1)
			w.mu.RUnlock()
			return
		default:
		}
	}
	w.mu.RUnlock()
	w.write([]T{v})
}

// write writes batch within the timeout, unless writing is paused.
func (w *Writer[T]) write(batch []T) {
	if time.Now().UnixNano() < w.pausedUntil.Load() {
		w.lost.Add(int64(len(batch)))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.Timeout)
	defer cancel()
	n, err := w.opts.Write(ctx, batch)
	if err == nil {
		return
	}
	w.lost.Add(int64(len(batch) - n))
	w.pausedUntil.Store(time.Now().Add(w.opts.Pause).UnixNano())
	if w.opts.Failed != nil {
		w.opts.Failed(err, len(batch)-n)
	}
}

// run writes what is queued, in batches, until the queue is closed and
// empty.
func (w *Writer[T]) run() {
	defer close(w.exited)
	batch := make([]T, 0, w.opts.Batch)
	for v := range w.queue {
		batch = w.collect(append(batch[:0], v))
		w.write(batch)
		clear(batch) // let the written items go
		w.wmu.Lock()
		w.written += int64(len(batch))
		close(w.progress)
		w.progress = make(chan struct{})
		w.wmu.Unlock()
	}
}

// collect adds to batch what is queued and, with a Linger, what comes
// within it, up to Batch items. A Flush ends the wait: what is queued then
// is taken, and the batch is written.
func (w *Writer[T]) collect(batch []T) []T {
	var expired <-chan time.Time
	if w.opts.Linger > 0 {
		t := time.NewTimer(w.opts.Linger)
		defer t.Stop()
		expired = t.C
	}
	for len(batch) < w.opts.Batch {
		select {
		case v, ok := <-w.queue:
			if !ok { // closed: write what is held
				return batch
			}
			batch = append(batch, v)
			continue
		default:
		}
		if expired == nil {
			return batch
		}
		select {
		case v, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, v)
		case <-expired:
			return batch
		case <-w.hurry:
			expired = nil
		}
	}
	return batch
}

// Flush waits until every item queued before it was called is written
// (or counted as lost), or until ctx ends. It ends the writer's linger, so
// that it waits for writes, not for more items (at most one Linger when
// several Flushes overlap).
func (w *Writer[T]) Flush(ctx context.Context) error {
	target := w.queued.Load()
	select {
	case w.hurry <- struct{}{}:
	default: // a hurry is pending already
	}
	for {
		w.wmu.Lock()
		done, progress := w.written >= target, w.progress
		w.wmu.Unlock()
		if done {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close writes what is queued and stops the goroutine; items added after
// it are written by their callers. It may be called more than once.
func (w *Writer[T]) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	close(w.queue)
	w.start.Do(func() {}) // no goroutine starts after this
	running := w.running
	w.mu.Unlock()
	if running {
		<-w.exited
	}
}
