// Package logwriter hands log lines to one goroutine that writes them out,
// coalescing every line that arrives while it writes into its next write.
//
// A gateway logs a line per request. Written as each request ends, that is
// a system call per request on the request's own goroutine; through a
// Writer, a busy gateway writes many lines per call and a request only
// copies its line. A quiet one still writes each line at once: nothing
// waits for a timer. Lines are kept in order; when the output falls behind
// by more than a bound, writers wait for it, as they would for a direct
// write, rather than hold without limit.
package logwriter

import (
	"io"
	"sync"
)

// maxPending is how many bytes may wait for the output before writers wait.
const maxPending = 1 << 20

// Writer is an io.Writer for log lines. Close it to write what is left.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	room    sync.Cond // signalled when pending shrinks
	pending []byte
	closed  bool
	err     error // the output's last error, returned to later writes

	wake chan struct{}
	done chan struct{}
}

// New starts a Writer to out.
func New(out io.Writer) *Writer {
	w := &Writer{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues p (one or more whole lines) for the output. It copies p, so
// the caller may reuse it at once. After Close it writes p itself.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.pending) >= maxPending && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		<-w.done // what was queued goes first
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.out.Write(p)
	}
	w.pending = append(w.pending, p...)
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	err := w.err
	w.mu.Unlock()
	return len(p), err
}

// run writes what is pending, all of it at once, until Close.
func (w *Writer) run() {
	defer close(w.done)
	var spare []byte
	for {
		_, open := <-w.wake
		w.mu.Lock()
		batch := w.pending
		w.pending = spare[:0]
		w.room.Broadcast()
		w.mu.Unlock()
		if len(batch) > 0 {
			_, err := w.out.Write(batch)
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
		if cap(batch) <= 4*maxPending {
			spare = batch
		}
		if !open {
			return
		}
	}
}

// Close writes what is pending and stops the goroutine; later writes go
// straight to the output. It returns the output's last error.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	close(w.wake) // under mu: no Write sends on it any more
	w.room.Broadcast()
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
