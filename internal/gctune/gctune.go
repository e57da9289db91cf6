// Package gctune keeps the garbage collector from running many times a
// second on a small heap.
//
// With GOGC=100 the collector starts a cycle whenever the heap has grown
// by as much as it held live after the last one. A gateway holds little
// (a few MiB of configuration, tables and buffers) but allocates a few
// tens of KiB per request, so at thousands of requests a second it spends
// a fifth of its CPU collecting. A heap floor sets the percent after every
// cycle so that the next one starts no sooner than the heap reaches the
// floor, and never sooner than GOGC=100 would: a live heap above half the
// floor is collected exactly as by default, and GOMEMLIMIT, when set,
// still bounds the heap.
package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// maxPercent bounds the percent a floor sets on an almost empty heap.
const maxPercent = 5000

// Tuner sets the GC percent after every collection while it runs.
type Tuner struct {
	floor   uint64
	stopped atomic.Bool
	percent atomic.Int64
	sample  []metrics.Sample
}

// Start sets a heap floor of floor bytes until Stop. It does nothing (and
// returns a Tuner whose Stop does nothing) when floor is 0.
func Start(floor uint64) *Tuner {
	t := &Tuner{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	if floor == 0 {
		t.stopped.Store(true)
		return t
	}
	t.tune()
	t.arm()
	return t
}

// Stop ends the tuning and puts the percent back to 100.
func (t *Tuner) Stop() {
	if t.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(100)
}

// Percent is the GC percent last set (0 before the first).
func (t *Tuner) Percent() int { return int(t.percent.Load()) }

// sentinel is garbage whose cleanup runs once per collection.
type sentinel struct{ _ [64]byte }

// arm makes a new sentinel whose cleanup, run after the next collection,
// tunes the percent and arms the next one.
func (t *Tuner) arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(t *Tuner) {
		if t.stopped.Load() {
			return
		}
		t.tune()
		t.arm()
	}, t)
}

// tune sets the percent for the live heap of the last collection. Only
// the cleanup goroutine calls it after Start, so the sample is not shared.
func (t *Tuner) tune() {
	metrics.Read(t.sample)
	live := uint64(0)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	p := Percent(t.floor, live)
	if int64(p) != t.percent.Load() {
		debug.SetGCPercent(p)
		t.percent.Store(int64(p))
	}
}

// Percent is the GC percent that puts the next collection of a live heap
// of live bytes at floor bytes: at least 100, at most 5000.
func Percent(floor, live uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := (float64(floor)/float64(live) - 1) * 100
	return int(math.Max(100, math.Min(maxPercent, math.Floor(p))))
}
