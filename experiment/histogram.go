package experiment

import (
	"math"
	"time"
)

// NumBuckets is the number of latency histogram buckets: [BucketBounds]
// upper bounds plus one overflow bucket for latencies of 60 s and more.
const NumBuckets = numBounds + 1

// numBounds is the number of finite bucket upper bounds.
const numBounds = 128

// MaxLatency is the largest finite bucket bound; latencies at or past it
// fall in the overflow bucket and report as MaxLatency.
const MaxLatency = 60 * time.Second

// bounds are the exclusive upper bounds of the finite buckets:
// 1 ms × 2^(i/8) for i < 127, then 60 s. Bucket i holds latencies in
// [bounds[i-1], bounds[i]) (bucket 0 from 0); bucket numBounds holds the
// rest.
var bounds = func() [numBounds]time.Duration {
	var b [numBounds]time.Duration
	for i := range numBounds - 1 {
		b[i] = time.Duration(float64(time.Millisecond) * math.Exp2(float64(i)/8))
	}
	b[numBounds-1] = MaxLatency
	return b
}()

// BucketBounds returns the exclusive upper bounds of the finite latency
// buckets, in increasing order.
func BucketBounds() []time.Duration { return bounds[:] }

// bucketOf returns the histogram bucket of latency d.
func bucketOf(d time.Duration) int { return BucketOf(bounds[:], d) }

// BucketOf returns the bucket of latency d in a histogram whose finite
// buckets have the exclusive upper bounds given, in increasing order:
// the number of bounds at or below d, len(bounds) for the overflow bucket.
func BucketOf(bounds []time.Duration, d time.Duration) int {
	lo, hi := 0, len(bounds) // answer in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if d < bounds[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// Histogram counts latencies per bucket. Histograms of several replicas
// merge by adding counts.
type Histogram [NumBuckets]int64

// Observe adds one latency.
func (h *Histogram) Observe(d time.Duration) { h[bucketOf(d)]++ }

// Merge adds the counts of o.
func (h *Histogram) Merge(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count is the number of latencies observed.
func (h *Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation
// inside the bucket that holds it; 0 for an empty histogram, [MaxLatency]
// when it falls in the overflow bucket.
func (h *Histogram) Quantile(q float64) time.Duration {
	d, _ := QuantileOf(h[:], bounds[:], q)
	return d
}

// QuantileOf estimates the q-quantile (0 < q ≤ 1) of a latency histogram
// whose finite buckets have the exclusive upper bounds given, in
// increasing order, with len(bounds)+1 counts (the last one the overflow
// bucket, as [BucketOf] numbers them), by linear interpolation inside the
// bucket that holds it; the last bound when it falls in the overflow
// bucket. ok is false, and d 0, when every count is zero.
func QuantileOf(counts []int64, bounds []time.Duration, q float64) (d time.Duration, ok bool) {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var cum int64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if float64(cum+c) >= rank {
			if i == len(bounds) {
				return bounds[i-1], true
			}
			var lo time.Duration
			if i > 0 {
				lo = bounds[i-1]
			}
			frac := (rank - float64(cum)) / float64(c)
			frac = math.Max(0, math.Min(1, frac))
			return lo + time.Duration(frac*float64(bounds[i]-lo)), true
		}
		cum += c
	}
	return bounds[len(bounds)-1], true
}
