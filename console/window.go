package console

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/experiment"
)

// The window's two rings: 10 s buckets for the last hour, 1 min buckets
// for the last day.
const (
	hourStep  = 10 * time.Second
	hourSlots = 360
	dayStep   = time.Minute
	daySlots  = 1440
)

// numCodes is the number of gRPC status codes (OK to UNAUTHENTICATED).
const numCodes = 17

// latBuckets is the size of a bucket's latency histograms: bucket i < 31
// holds latencies below 1 ms × 2^(i/2), bucket 31 the rest (46 s and
// more). Coarse (±20 %), so that a bucket stays small.
const latBuckets = 32

var latBounds = func() [latBuckets - 1]time.Duration {
	var b [latBuckets - 1]time.Duration
	for i := range b {
		b[i] = time.Duration(float64(time.Millisecond) * math.Exp2(float64(i)/2))
	}
	return b
}()

// latBucket returns the histogram bucket of d.
func latBucket(d time.Duration) int { return experiment.BucketOf(latBounds[:], d) }

// Steps of the failover chain, as [Outcome.Step] names them.
var stepNames = [...]string{"primary", "backup", "stale", "degraded"}

func stepIndex(s string) int {
	for i, n := range stepNames {
		if n == s {
			return i
		}
	}
	return -1
}

// bucket is one time slot of a series. Every field is updated atomically;
// epoch is the slot's bucket number plus one (0: never used, -1: being
// reset).
type bucket struct {
	epoch                atomic.Int64
	requests, errors     atomic.Int64
	cacheHits, cacheable atomic.Int64
	inTok, outTok, cost  atomic.Int64
	failed               atomic.Int64 // failed attempts before answers
	retries              atomic.Int64
	hedges, hedgesWon    atomic.Int64
	steps                [len(stepNames)]atomic.Int64
	codes                [numCodes]atomic.Int64
	lat, ttft            [latBuckets]atomic.Int64
}

func (b *bucket) reset() {
	for _, c := range []*atomic.Int64{&b.requests, &b.errors, &b.cacheHits, &b.cacheable, &b.inTok, &b.outTok,
		&b.cost, &b.failed, &b.retries, &b.hedges, &b.hedgesWon} {
		c.Store(0)
	}
	for i := range b.steps {
		b.steps[i].Store(0)
	}
	for i := range b.codes {
		b.codes[i].Store(0)
	}
	for i := range b.lat {
		b.lat[i].Store(0)
		b.ttft[i].Store(0)
	}
}

func (b *bucket) add(o *Outcome) {
	b.requests.Add(1)
	if !o.ok() {
		b.errors.Add(1)
	}
	if c := int(o.Code); c >= 0 && c < numCodes {
		b.codes[c].Add(1)
	}
	switch o.Cache {
	case "hit":
		b.cacheHits.Add(1)
		b.cacheable.Add(1)
	case "miss":
		b.cacheable.Add(1)
	}
	if o.InputTokens > 0 {
		b.inTok.Add(o.InputTokens)
	}
	if o.OutputTokens > 0 {
		b.outTok.Add(o.OutputTokens)
	}
	if o.CostNanos > 0 {
		b.cost.Add(o.CostNanos)
	}
	if o.FailedAttempts > 0 {
		b.failed.Add(int64(o.FailedAttempts))
	}
	if i := stepIndex(o.Step); i >= 0 {
		b.steps[i].Add(1)
	}
	if o.ok() {
		b.lat[latBucket(o.Latency)].Add(1)
		if o.TTFT > 0 {
			b.ttft[latBucket(o.TTFT)].Add(1)
		}
	}
}

// ring is a circular array of buckets of one step.
type ring struct {
	step    time.Duration
	buckets []bucket
}

func newRing(step time.Duration, n int) ring {
	return ring{step: step, buckets: make([]bucket, n)}
}

// at returns the bucket for t, resetting its slot when it last held an
// older bucket. A writer that finds the slot being reset waits for it; a
// call that straddles the boundary may be counted in either bucket.
func (r *ring) at(t time.Time) *bucket {
	n := t.UnixNano() / int64(r.step)
	b := &r.buckets[int(n%int64(len(r.buckets)))]
	for {
		e := b.epoch.Load()
		switch {
		case e >= n+1:
			return b
		case e < 0:
			runtime.Gosched()
		case b.epoch.CompareAndSwap(e, -1):
			b.reset()
			b.epoch.Store(n + 1)
			return b
		}
	}
}

// get returns the bucket numbered n if the ring still holds it.
func (r *ring) get(n int64) *bucket {
	b := &r.buckets[int(n%int64(len(r.buckets)))]
	if b.epoch.Load() != n+1 {
		return nil
	}
	return b
}

// key identifies a series.
type key struct {
	route, variant, provider, model string
}

// series is the window of one key.
type series struct {
	key
	hour, day ring
}

// maxSeries bounds the number of series (one per route, variant, provider
// and model seen, about 1.4 MB each once both rings have filled); calls
// past it are counted under one overflow series, so that memory stays
// bounded (about 180 MB at worst) whatever the labels.
const maxSeries = 128

// overflowKey is the series calls past [maxSeries] are counted in.
var overflowKey = key{route: "(other)"}

// window is the set of series, found by key without a lock: the map is
// replaced, never changed, when a new key appears.
type window struct {
	mu     sync.Mutex // serialises adding series
	series atomic.Pointer[map[key]*series]
}

func newWindow() *window {
	w := &window{}
	m := map[key]*series{}
	w.series.Store(&m)
	return w
}

// get returns the series of k, adding it when it is new.
func (w *window) get(k key) *series {
	if s, ok := (*w.series.Load())[k]; ok {
		return s
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	old := *w.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	if len(old) >= maxSeries {
		if s, ok := old[overflowKey]; ok {
			return s
		}
		k = overflowKey
	}
	s := &series{key: k, hour: newRing(hourStep, hourSlots), day: newRing(dayStep, daySlots)}
	m := make(map[key]*series, len(old)+1)
	for kk, v := range old {
		m[kk] = v
	}
	m[k] = s
	w.series.Store(&m)
	return s
}

// all returns every series.
func (w *window) all() []*series {
	m := *w.series.Load()
	out := make([]*series, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	return out
}
