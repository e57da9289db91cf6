package server

import (
	"context"
	"sync"
	"sync/atomic"
)

// backgroundWriter writes what requests hand it after their responses
// have left: items are queued, in memory, to one goroutine that writes
// everything queued meanwhile as one batch. An item that finds the queue
// full, or the writer closed, is written at once by its own caller, so
// nothing is dropped for want of room. flush waits for what was queued
// before it; close writes what is left and stops the goroutine, which
// starts with the first item.
type backgroundWriter[T any] struct {
	write func([]T) // writes a batch; never called concurrently by the writer itself
	batch int

	start   sync.Once
	running bool // the goroutine was started; set once, by start
	queue   chan T
	mu      sync.RWMutex // held to send on queue; written to close it
	closed  bool
	exited  chan struct{} // closed when the goroutine has written everything

	queued   atomic.Int64 // items sent on queue, ever
	wmu      sync.Mutex
	written  int64         // items the goroutine has written; guarded by wmu
	progress chan struct{} // closed and replaced when written grows; guarded by wmu
}

// newBackgroundWriter returns a writer queuing up to size items and
// writing at most batch at once with write.
func newBackgroundWriter[T any](size, batch int, write func([]T)) *backgroundWriter[T] {
	return &backgroundWriter[T]{write: write, batch: batch, queue: make(chan T, size),
		exited: make(chan struct{}), progress: make(chan struct{})}
}

// add queues v for the writer, or writes it itself when the queue is full
// or the writer closed.
func (w *backgroundWriter[T]) add(v T) {
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

// run writes what is queued, in batches, until the queue is closed and
// empty.
func (w *backgroundWriter[T]) run() {
	defer close(w.exited)
	batch := make([]T, 0, w.batch)
	for v := range w.queue {
		batch = append(batch[:0], v)
	fill:
		for len(batch) < w.batch {
			select {
			case v, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, v)
			default:
				break fill
			}
		}
		w.write(batch)
		clear(batch) // let the written items go
		w.wmu.Lock()
		w.written += int64(len(batch))
		close(w.progress)
		w.progress = make(chan struct{})
		w.wmu.Unlock()
	}
}

// flush waits until every item queued before it was called is written,
// or until ctx ends.
func (w *backgroundWriter[T]) flush(ctx context.Context) error {
	target := w.queued.Load()
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

// close writes what is queued and stops the goroutine; items added after
// it are written by their callers. It may be called more than once.
func (w *backgroundWriter[T]) close() {
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
