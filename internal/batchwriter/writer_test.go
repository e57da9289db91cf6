package batchwriter_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/internal/batchwriter"
)

// recorder is a Write that keeps the batches it is given.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
}

func (r *recorder) write(_ context.Context, batch []int) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(batch))
	return len(batch), nil
}

func (r *recorder) got() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func newWriter(r *recorder, linger time.Duration) *batchwriter.Writer[int] {
	return batchwriter.New(batchwriter.Options[int]{Queue: 64, Batch: 4, Linger: linger,
		Timeout: 10 * time.Second, Pause: time.Second, Write: r.write})
}

// Items added one at a time within the linger share a write, up to Batch.
func TestLingerGathersItems(t *testing.T) {
	r := &recorder{}
	w := newWriter(r, time.Hour)
	for i := range 6 {
		w.Add(i)
		time.Sleep(time.Millisecond) // the writer has taken the first by now
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got, want := r.got(), [][]int{{0, 1, 2, 3}, {4, 5}}; !slices.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// Flush and Close do not wait out the linger.
func TestLingerCutShort(t *testing.T) {
	r := &recorder{}
	w := newWriter(r, time.Hour)
	w.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush waited out the linger: %v", err)
	}
	w.Add(2)
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited out the linger")
	}
	if got, want := r.got(), [][]int{{1}, {2}}; !slices.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// Without a linger, what is queued when the writer wakes is one batch and
// nothing waits.
func TestNoLinger(t *testing.T) {
	r := &recorder{}
	w := newWriter(r, 0)
	w.Add(1)
	deadline := time.Now().Add(5 * time.Second)
	for len(r.got()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the item was not written")
		}
		time.Sleep(time.Millisecond)
	}
	w.Close()
	if got := r.got(); len(got) != 1 || !slices.Equal(got[0], []int{1}) {
		t.Errorf("batches %v", got)
	}
}
