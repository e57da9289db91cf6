package experiment_test

import (
	"math"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/experiment"
)

func TestBucketBounds(t *testing.T) {
	b := experiment.BucketBounds()
	if len(b) != experiment.NumBuckets-1 {
		t.Fatalf("%d bounds for %d buckets", len(b), experiment.NumBuckets)
	}
	if b[0] != time.Millisecond || b[len(b)-1] != experiment.MaxLatency {
		t.Errorf("bounds run from %v to %v, want 1ms to 60s", b[0], b[len(b)-1])
	}
	for i := 1; i < len(b)-1; i++ {
		// Log-spaced: each bound is 2^(1/8) = 1.0905 times the one before.
		if r := float64(b[i]) / float64(b[i-1]); math.Abs(r-math.Exp2(1.0/8)) > 1e-6 {
			t.Fatalf("bound %d/%d ratio %v", i, i-1, r)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	b := experiment.BucketBounds()
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{time.Millisecond - 1, 0},
		{time.Millisecond, 1}, // bounds are exclusive
		{b[10], 11},
		{b[10] - 1, 10},
		{experiment.MaxLatency - 1, experiment.NumBuckets - 2},
		{experiment.MaxLatency, experiment.NumBuckets - 1},
		{time.Hour, experiment.NumBuckets - 1},
	}
	for _, tc := range tests {
		var h experiment.Histogram
		h.Observe(tc.d)
		if h[tc.want] != 1 {
			t.Errorf("%v landed in the wrong bucket: %v", tc.d, h)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h experiment.Histogram
	if h.Quantile(0.5) != 0 {
		t.Errorf("empty histogram p50 = %v", h.Quantile(0.5))
	}
	// 1..1000 ms uniformly: p50 = 500 ms, p95 = 950 ms, p99 = 990 ms, within
	// half a bucket's width (4.5%); p50 and p95 much closer thanks to the
	// interpolation. p99 falls in the last, partly filled bucket, where
	// interpolating up to the bucket's bound overshoots.
	for ms := 1; ms <= 1000; ms++ {
		h.Observe(time.Duration(ms) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
		tol  float64
	}{{0.5, 500 * time.Millisecond, 0.01}, {0.95, 950 * time.Millisecond, 0.01}, {0.99, 990 * time.Millisecond, 0.045}} {
		got := h.Quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > tc.tol {
			t.Errorf("p%v = %v, want %v (±%v%%)", tc.q*100, got, tc.want, tc.tol*100)
		}
	}
	// A single value is reported within its bucket.
	var one experiment.Histogram
	one.Observe(1234 * time.Millisecond)
	if got := one.Quantile(0.5); math.Abs(float64(got)/float64(1234*time.Millisecond)-1) > 0.09 {
		t.Errorf("p50 of 1234ms = %v", got)
	}
	// Past the last bucket, the quantile is the 60 s cap.
	var slow experiment.Histogram
	slow.Observe(2 * time.Minute)
	if got := slow.Quantile(0.95); got != experiment.MaxLatency {
		t.Errorf("p95 of 2min = %v, want %v", got, experiment.MaxLatency)
	}
}

func TestBucketOfAndQuantileOfOtherBounds(t *testing.T) {
	bounds := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {9 * time.Millisecond, 0}, {10 * time.Millisecond, 1}, {39 * time.Millisecond, 2}, {40 * time.Millisecond, 3}, {time.Hour, 3}} {
		if got := experiment.BucketOf(bounds, tc.d); got != tc.want {
			t.Errorf("BucketOf(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if d, ok := experiment.QuantileOf(make([]int64, 4), bounds, 0.5); ok || d != 0 {
		t.Errorf("empty histogram: p50 = %v, %v; want 0, false", d, ok)
	}
	// Four latencies in [10 ms, 20 ms): the median is interpolated halfway.
	if d, ok := experiment.QuantileOf([]int64{0, 4, 0, 0}, bounds, 0.5); !ok || d != 15*time.Millisecond {
		t.Errorf("p50 = %v, %v; want 15ms, true", d, ok)
	}
	// In the overflow bucket, the quantile is the last bound.
	if d, ok := experiment.QuantileOf([]int64{1, 0, 0, 3}, bounds, 0.95); !ok || d != 40*time.Millisecond {
		t.Errorf("p95 = %v, %v; want 40ms, true", d, ok)
	}
}

func TestHistogramMerge(t *testing.T) {
	// Two replicas' histograms merge into the histogram of all samples.
	var a, b, all experiment.Histogram
	for ms := 1; ms <= 2000; ms += 7 {
		d := time.Duration(ms) * time.Millisecond
		if ms%2 == 0 {
			a.Observe(d)
		} else {
			b.Observe(d)
		}
		all.Observe(d)
	}
	a.Merge(&b)
	if a != all || a.Count() != all.Count() {
		t.Errorf("merged %v, want %v", a, all)
	}
}
