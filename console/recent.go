package console

import (
	"sync"
	"sync/atomic"
)

// recentSize is how many calls the recent ring keeps.
const recentSize = 500

// recent is a ring of the last calls. A writer claims a slot with one
// atomic add and copies the outcome under that slot's own lock, so that
// writers contend only when the ring wraps onto a slot being read.
type recent struct {
	next  atomic.Uint64
	slots [recentSize]recentSlot
}

type recentSlot struct {
	mu  sync.Mutex
	seq uint64 // 1 + the call's sequence number; 0 when empty
	o   Outcome
}

func (r *recent) put(o *Outcome) {
	n := r.next.Add(1)
	s := &r.slots[(n-1)%recentSize]
	s.mu.Lock()
	if n > s.seq {
		s.seq, s.o = n, *o
	}
	s.mu.Unlock()
}

// list returns the calls kept, newest first.
func (r *recent) list() []Outcome {
	last := r.next.Load()
	out := make([]Outcome, 0, min(last, recentSize))
	for i := uint64(0); i < recentSize && i < last; i++ {
		n := last - i
		s := &r.slots[(n-1)%recentSize]
		s.mu.Lock()
		if s.seq == n {
			out = append(out, s.o)
		}
		s.mu.Unlock()
	}
	return out
}
