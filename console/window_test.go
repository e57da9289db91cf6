package console

import (
	"math"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func TestLatBucket(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {999 * time.Microsecond, 0}, {time.Millisecond, 1}, {1414 * time.Microsecond, 1},
		{1415 * time.Microsecond, 2}, {time.Hour, latBuckets - 1},
	} {
		if got := latBucket(c.d); got != c.want {
			t.Errorf("latBucket(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h [latBuckets]int64
	if q := quantile(&h, 0.5); !math.IsNaN(q) {
		t.Errorf("quantile of nothing = %v, want NaN", q)
	}
	// 100 calls at 100 ms, 5 at 2 s: p50 near 100 ms, p99 near 2 s.
	h[latBucket(100*time.Millisecond)] = 100
	h[latBucket(2*time.Second)] = 5
	if p50 := quantile(&h, 0.5); p50 < 80 || p50 > 125 {
		t.Errorf("p50 = %v ms, want about 100", p50)
	}
	if p99 := quantile(&h, 0.99); p99 < 1400 || p99 > 2900 {
		t.Errorf("p99 = %v ms, want about 2000", p99)
	}
}

func TestRingReusesSlots(t *testing.T) {
	r := newRing(hourStep, hourSlots)
	o := Outcome{Code: codes.OK, Latency: time.Millisecond}
	r.at(t0).add(&o)
	r.at(t0.Add(5 * time.Second)).add(&o) // same bucket
	n := t0.UnixNano() / int64(hourStep)
	if b := r.get(n); b == nil || b.requests.Load() != 2 {
		t.Fatalf("bucket %d: %+v", n, b)
	}
	// An hour later the slot holds the new bucket only.
	r.at(t0.Add(time.Hour)).add(&o)
	if b := r.get(n); b != nil {
		t.Errorf("the bucket of an hour ago is still there")
	}
	if b := r.get(n + hourSlots); b == nil || b.requests.Load() != 1 {
		t.Errorf("new bucket: %+v", b)
	}
}

func TestRecordCounts(t *testing.T) {
	now := t0
	c := New(Options{Replica: "r1", Now: func() time.Time { return now }})
	c.Record(Outcome{Time: now, Route: "r", Variant: "a", Provider: "p", Model: "m", Code: codes.OK, Step: "primary",
		Cache: "miss", InputTokens: 10, OutputTokens: 20, CostNanos: 1500, Latency: 100 * time.Millisecond})
	c.Record(Outcome{Time: now, Route: "r", Variant: "a", Provider: "p", Model: "m", Code: codes.OK, Step: "backup",
		Cache: "hit", Latency: 10 * time.Millisecond, FailedAttempts: 2})
	c.Record(Outcome{Time: now, Route: "r", Variant: "b", Provider: "q", Model: "m2", Code: codes.Unavailable, Cache: "off",
		Latency: time.Second})
	now = now.Add(30 * time.Second)
	o := c.overview(spans["1h"])
	tot := o.Totals
	if tot.Requests != 3 || tot.Errors != 1 || tot.InputTokens != 10 || tot.OutputTokens != 20 || tot.Failed != 2 {
		t.Errorf("totals: %+v", tot)
	}
	if float64(tot.CacheHitRate) != 0.5 {
		t.Errorf("cache hit rate = %v, want 0.5 (1 hit of 2 lookups)", tot.CacheHitRate)
	}
	if float64(tot.CostUSD) != 1.5e-6 {
		t.Errorf("cost = %v, want 1.5e-6", tot.CostUSD)
	}
	// The console started 30 s ago: rates are over those 30 s.
	if got := float64(tot.RPS); math.Abs(got-3.0/30) > 1e-9 {
		t.Errorf("rps = %v, want 0.1", got)
	}
	if tot.Steps["primary"] != 1 || tot.Steps["backup"] != 1 || tot.Codes["UNAVAILABLE"] != 1 || tot.Codes["OK"] != 2 {
		t.Errorf("steps %v, codes %v", tot.Steps, tot.Codes)
	}
	if len(o.Routes) != 1 || o.Routes[0].Name != "r" || o.Routes[0].Requests != 3 {
		t.Errorf("routes: %+v", o.Routes)
	}
	if n := len(o.Timeline.T); n != hourSlots {
		t.Errorf("timeline has %d points, want %d", n, hourSlots)
	}
	day := c.overview(spans["24h"])
	if day.Totals.Requests != 3 || len(day.Timeline.T) != daySlots {
		t.Errorf("24h: %d requests, %d points", day.Totals.Requests, len(day.Timeline.T))
	}
	// Two hours later the hour is empty, the day is not.
	now = now.Add(2 * time.Hour)
	if n := c.overview(spans["1h"]).Totals.Requests; n != 0 {
		t.Errorf("1h after two hours: %d requests", n)
	}
	if n := c.overview(spans["24h"]).Totals.Requests; n != 3 {
		t.Errorf("24h after two hours: %d requests", n)
	}
}

func TestSeriesBounded(t *testing.T) {
	c := New(Options{Now: func() time.Time { return t0 }})
	for i := range maxSeries + 50 {
		c.Record(Outcome{Time: t0, Route: string(rune('a' + i%26)), Variant: string(rune(i)), Code: codes.OK})
	}
	if n := len(c.win.all()); n > maxSeries+1 {
		t.Errorf("%d series, want at most %d", n, maxSeries+1)
	}
	if got := c.overview(spans["1h"]).Totals.Requests; got != maxSeries+50 {
		t.Errorf("%d requests counted, want %d: none dropped", got, maxSeries+50)
	}
}

func TestRecentRing(t *testing.T) {
	c := New(Options{Now: func() time.Time { return t0 }})
	for i := range recentSize + 10 {
		c.Record(Outcome{Time: t0.Add(time.Duration(i)), Route: "r", InputTokens: int64(i), Code: codes.OK})
	}
	got := c.calls.list()
	if len(got) != recentSize {
		t.Fatalf("%d calls, want %d", len(got), recentSize)
	}
	if got[0].InputTokens != recentSize+9 || got[len(got)-1].InputTokens != 10 {
		t.Errorf("newest %d, oldest %d", got[0].InputTokens, got[len(got)-1].InputTokens)
	}
}

// TestRecordConcurrent records from many goroutines across bucket
// boundaries; run with -race. Every call is counted in the day ring.
func TestRecordConcurrent(t *testing.T) {
	c := New(Options{Now: func() time.Time { return t0 }})
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c.Record(Outcome{Time: t0.Add(time.Duration(i) * time.Millisecond), Route: "r", Variant: string(rune('a' + w%2)),
					Code: codes.OK, Latency: time.Millisecond})
			}
		}()
	}
	wg.Wait()
	c.now = func() time.Time { return t0.Add(3 * time.Second) }
	if n := c.overview(spans["24h"]).Totals.Requests; n != workers*each {
		t.Errorf("%d requests, want %d", n, workers*each)
	}
}

func BenchmarkRecord(b *testing.B) {
	c := New(Options{})
	o := Outcome{RPC: "Complete", Route: "career_advice", Variant: "b", Provider: "anthropic", Model: "claude",
		Client: "web", Code: codes.OK, Step: "primary", Cache: "miss", InputTokens: 100, OutputTokens: 200,
		CostNanos: 1234, Latency: 800 * time.Millisecond}
	// The server passes the call's end time in; the benchmark's clock
	// moves a microsecond a call, across bucket boundaries.
	start := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		o := o
		for i := 0; pb.Next(); i++ {
			o.Time = start.Add(time.Duration(i) * time.Microsecond)
			c.Record(o)
		}
	})
}
