// Package workers runs functions on goroutines kept between them.
//
// The gateway runs the work of a cache miss (the resilience policies, the
// provider's HTTP exchange: tens of frames deep) on a goroutine of its
// own. A new goroutine starts on a small stack that the runtime grows by
// copying; a worker that ran such work before has grown already, and
// handing it the next function costs no new goroutine either. A worker
// that finds nothing to do for a moment exits, so an idle gateway keeps
// none.
package workers

import (
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/internal/stack"
)

// idle is how long a worker waits for more work before it exits.
const idle = 100 * time.Millisecond

// work hands a function to a waiting worker.
var work = make(chan func())

// started counts the workers started.
var started atomic.Int64

// Go runs f on a worker waiting for work, or on a new one when none is.
// f must not panic: nothing recovers it.
func Go(f func()) {
	select {
	case work <- f:
	default:
		started.Add(1)
		go worker(f)
	}
}

// worker runs f, then whatever it is handed next, until it waits idle in
// vain.
func worker(f func()) {
	_ = stack.Grow() // the work is deep: grow once, while shallow
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		f()
		f = nil // hold no references while idle
		t.Reset(idle)
		select {
		case f = <-work:
		case <-t.C:
			return
		}
	}
}
