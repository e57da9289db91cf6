package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// call makes one request and returns its time to first token (zero for
// unary calls) or why it failed.
type call func(ctx context.Context) (ttft time.Duration, err error)

// errNotPresent marks a path the gateway under test does not serve (an
// endpoint that answers 404): its row reads "n/a", it does not fail the run.
var errNotPresent = errors.New("endpoint not present")

// newHist is a latency histogram in nanoseconds: 1 µs to 60 s, three
// significant digits.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1000, 60e9, 3) }

// Latency summarises a histogram in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func summarise(h *hdrhistogram.Histogram) Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Latency{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		Max: ms(h.Max()), Mean: h.Mean() / 1e6,
	}
}

// measurement is what one cell's workers saw in the measured window.
type measurement struct {
	requests, errors int64
	firstErr         string
	elapsed          time.Duration
	lat, ttft        *hdrhistogram.Histogram
}

// closedLoop runs conc workers, each making its next call as soon as the
// previous one returns, for warmup and then for dur. Only calls that both
// start and end inside the measured window count. newCall builds one
// worker's call (its own buffers, its own request counter). atWindow, when
// not nil, runs in its own goroutine as the measured window opens;
// closedLoop returns once it has returned.
func closedLoop(ctx context.Context, conc int, warmup, dur time.Duration, newCall func(worker int) call, atWindow func()) measurement {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		windowStart atomic.Int64 // unix nanoseconds; 0 while warming up
		stopped     atomic.Bool
		wg          sync.WaitGroup
	)
	type result struct {
		requests, errors int64
		firstErr         error
		lat, ttft        *hdrhistogram.Histogram
	}
	results := make([]result, conc)
	for i := range conc {
		wg.Go(func() {
			r := &results[i]
			r.lat, r.ttft = newHist(), newHist()
			c := newCall(i)
			for !stopped.Load() && ctx.Err() == nil {
				start := time.Now()
				ttft, err := c(ctx)
				lat := time.Since(start)
				ws := windowStart.Load()
				if ws == 0 || start.UnixNano() < ws || stopped.Load() {
					if err != nil {
						time.Sleep(time.Millisecond) // do not spin on a failing target
					}
					continue
				}
				if err != nil {
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
					time.Sleep(time.Millisecond)
					continue
				}
				r.requests++
				_ = r.lat.RecordValue(lat.Nanoseconds())
				if ttft > 0 {
					_ = r.ttft.RecordValue(ttft.Nanoseconds())
				}
			}
		})
	}
	sleep(ctx, warmup)
	start := time.Now()
	windowStart.Store(start.UnixNano())
	var side sync.WaitGroup
	if atWindow != nil {
		side.Go(atWindow)
	}
	defer side.Wait()
	sleep(ctx, dur)
	stopped.Store(true)
	elapsed := time.Since(start)
	// Calls in flight finish (or are cut off) soon after.
	t := time.AfterFunc(10*time.Second, cancel)
	wg.Wait()
	t.Stop()

	m := measurement{elapsed: elapsed, lat: newHist(), ttft: newHist()}
	for _, r := range results {
		m.requests += r.requests
		m.errors += r.errors
		if r.firstErr != nil && m.firstErr == "" {
			m.firstErr = r.firstErr.Error()
		}
		m.lat.Merge(r.lat)
		m.ttft.Merge(r.ttft)
	}
	return m
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
