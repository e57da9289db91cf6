// Package usagetest is the conformance suite every [usage.Store] runs, so
// that the memory and the Redis store keep the same ledger.
package usagetest

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/usage"
)

// Factory returns a new, empty store keeping r, independent of every
// store it returned before (e.g. a fresh Redis key prefix). Its clock is
// the real one. It is called once per subtest.
type Factory func(t *testing.T, r usage.Retention) usage.Store

// Long keeps every bucket the suite writes, except those of
// testRetention.
var Long = usage.Retention{Hours: 24 * 400, Days: 400 * 3, Months: 120}

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"RecordAndReport", testRecordAndReport},
		{"ExactToTheCent", testExactToTheCent},
		{"Rollover", testRollover},
		{"Retention", testRetention},
		{"FilterAndGroup", testFilterAndGroup},
		{"CleanDims", testCleanDims},
		{"Invalid", testInvalid},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

var ctx = context.Background()

// Dims is a recorded answer's dimensions, numbered.
func Dims(i int) usage.Dims {
	providers := []string{"openai", "anthropic"}
	models := []string{"gpt-4o-mini", "claude-3-5-haiku-latest"}
	routes := []string{"career_advice", "resume_review", ""}
	clients := []string{"rails-app", "qa"}
	return usage.Dims{
		Provider: providers[i%2], Model: models[i%2],
		Route: routes[i%3], Client: clients[(i/2)%2],
	}
}

func record(t *testing.T, s usage.Store, e usage.Entry) {
	t.Helper()
	if err := s.Record(ctx, e); err != nil {
		t.Fatalf("Record(%+v): %v", e, err)
	}
}

func report(t *testing.T, s usage.Store, q usage.Query, now time.Time) *usage.Result {
	t.Helper()
	r, err := usage.Report(ctx, s, q, now)
	if err != nil {
		t.Fatalf("Report(%+v): %v", q, err)
	}
	return r
}

// testRecordAndReport: fresh answers and a cache hit add up the same in
// every granularity.
func testRecordAndReport(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{})
	now := time.Now()
	fresh := usage.Entry{Time: now, Dims: Dims(0), InputTokens: 120, OutputTokens: 40, CachedInputTokens: 20,
		Cost: usage.FromUSD(0.000042)}
	hit := usage.Entry{Time: now, Dims: Dims(0), CacheHit: true, Saved: usage.FromUSD(0.000042)}
	other := usage.Entry{Time: now, Dims: Dims(1), InputTokens: 10, OutputTokens: 5, Cost: usage.FromUSD(0.00003)}
	record(t, s, fresh)
	record(t, s, fresh)
	record(t, s, hit)
	record(t, s, other)
	want := usage.Counts{Requests: 4, CacheHits: 1, InputTokens: 250, OutputTokens: 85, CachedInputTokens: 40,
		Cost: 2*fresh.Cost + other.Cost, Saved: hit.Saved}
	for _, g := range usage.Granularities {
		r := report(t, s, usage.Query{Granularity: g}, now)
		if r.Total != want {
			t.Errorf("%s: total %+v, want %+v", g, r.Total, want)
		}
		if len(r.Rows) != 1 || !r.Rows[0].Start.Equal(g.Start(now)) || r.Rows[0].Counts != want {
			t.Errorf("%s: rows %+v, want one row of the current bucket", g, r.Rows)
		}
		r = report(t, s, usage.Query{Granularity: g, GroupBy: usage.ByProvider | usage.ByModel | usage.ByRoute | usage.ByClient}, now)
		if len(r.Rows) != 2 || r.Rows[0].Dims != Dims(1) || r.Rows[1].Dims != Dims(0) {
			t.Fatalf("%s: rows by every dimension %+v", g, r.Rows)
		}
		if r.Rows[0].Requests != 1 || r.Rows[1].Requests != 3 || r.Rows[1].CacheHits != 1 || r.Rows[1].Cost != 2*fresh.Cost {
			t.Errorf("%s: rows %+v", g, r.Rows)
		}
	}
	if r := report(t, s, usage.Query{Granularity: usage.Day, End: now.Add(-48 * time.Hour)}, now); len(r.Rows) != 0 {
		t.Errorf("a range before the entries has rows %+v", r.Rows)
	}
}

// testExactToTheCent: a thousand answers of odd costs report the sum of
// their costs, to the nano-dollar of the rounded costs and well within a
// cent of the floating-point sum.
func testExactToTheCent(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{})
	now := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	var floatSum float64
	var nanoSum usage.Nanos
	var tokens int64
	for i := range 1000 {
		cost := rng.Float64() * 0.01
		if i%7 == 0 {
			cost = 0.1 + 0.2 // 0.30000000000000004
		}
		floatSum += cost
		nanoSum += usage.FromUSD(cost)
		in := int64(rng.IntN(5000))
		tokens += in
		record(t, s, usage.Entry{Time: now, Dims: Dims(i), InputTokens: in, Cost: usage.FromUSD(cost)})
	}
	for _, g := range usage.Granularities {
		r := report(t, s, usage.Query{Granularity: g, GroupBy: usage.ByProvider | usage.ByRoute}, now)
		if r.Total.Cost != nanoSum || r.Total.InputTokens != tokens || r.Total.Requests != 1000 {
			t.Errorf("%s: total %+v, want cost %d, input tokens %d", g, r.Total, nanoSum, tokens)
		}
		if d := math.Abs(r.Total.Cost.USD() - floatSum); d >= 0.005 {
			t.Errorf("%s: total $%.9f, the answers' costs add up to $%.9f", g, r.Total.Cost.USD(), floatSum)
		}
		var rows usage.Nanos
		for _, row := range r.Rows {
			rows += row.Cost
		}
		if rows != nanoSum {
			t.Errorf("%s: rows add up to %d, want %d", g, rows, nanoSum)
		}
	}
}

// testRollover: answers a second apart across the end of an hour, a day
// and a month land in different buckets.
func testRollover(t *testing.T, newStore Factory) {
	s := newStore(t, Long)
	now := time.Now()
	// The last month's end: every boundary at once.
	boundary := usage.Month.Start(now)
	before, after := boundary.Add(-time.Second), boundary
	e := usage.Entry{Dims: Dims(0), InputTokens: 1, Cost: 1}
	e.Time = before
	record(t, s, e)
	e.Time, e.InputTokens, e.Cost = after, 2, 2
	record(t, s, e)
	e.Time, e.InputTokens, e.Cost = after.Add(59*time.Minute+59*time.Second), 4, 4 // the same hour
	record(t, s, e)
	for _, g := range usage.Granularities {
		r := report(t, s, usage.Query{Granularity: g, Start: before, End: after.Add(time.Hour)}, now)
		if len(r.Rows) != 2 {
			t.Fatalf("%s: %d rows %+v, want 2", g, len(r.Rows), r.Rows)
		}
		if !r.Rows[0].Start.Equal(g.Start(before)) || r.Rows[0].InputTokens != 1 || r.Rows[0].Cost != 1 {
			t.Errorf("%s: first row %+v", g, r.Rows[0])
		}
		if !r.Rows[1].Start.Equal(boundary) || r.Rows[1].InputTokens != 6 || r.Rows[1].Cost != 6 {
			t.Errorf("%s: second row %+v", g, r.Rows[1])
		}
		if !r.Start.Equal(g.Start(before)) || !r.End.Equal(g.Add(boundary, 1)) {
			t.Errorf("%s: range %v to %v", g, r.Start, r.End)
		}
	}
	// A range ending at the boundary leaves out the bucket it starts.
	r := report(t, s, usage.Query{Granularity: usage.Hour, Start: before.Add(-time.Hour), End: boundary}, now)
	if r.Total.InputTokens != 1 {
		t.Errorf("range ending at the boundary: total %+v", r.Total)
	}
}

// testRetention: hours are forgotten before days, days before months.
func testRetention(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{Hours: 2, Days: 3, Months: 2})
	now := time.Now()
	for i, at := range []time.Time{
		now,                     // 1: everywhere
		now.Add(-time.Hour),     // 2: everywhere
		now.Add(-5 * time.Hour), // 4: days and months
		now.AddDate(0, 0, -10),  // 8: months
		now.AddDate(0, -6, 0),   // 16: forgotten
	} {
		record(t, s, usage.Entry{Time: at, Dims: Dims(0), InputTokens: 1 << i})
	}
	for g, want := range map[usage.Granularity]int64{usage.Hour: 1 | 2, usage.Day: 1 | 2 | 4, usage.Month: 1 | 2 | 4 | 8} {
		start := map[usage.Granularity]time.Time{
			usage.Hour: now.AddDate(0, 0, -6), usage.Day: now.AddDate(0, 0, -300), usage.Month: now.AddDate(-1, 0, 0),
		}[g]
		r := report(t, s, usage.Query{Granularity: g, Start: start}, now)
		if r.Total.InputTokens != want {
			t.Errorf("%s: kept %05b, want %05b", g, r.Total.InputTokens, want)
		}
	}
}

// testFilterAndGroup: filters keep matching entries; grouping sums the
// dimensions left out.
func testFilterAndGroup(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{})
	now := time.Now()
	per := map[usage.Dims]int64{}
	for i := range 24 {
		d := Dims(i)
		per[d] += int64(i)
		record(t, s, usage.Entry{Time: now, Dims: d, OutputTokens: int64(i), Cost: usage.Nanos(i)})
	}
	sum := func(keep func(usage.Dims) bool) int64 {
		var n int64
		for d, v := range per {
			if keep(d) {
				n += v
			}
		}
		return n
	}
	for _, f := range []usage.Dims{
		{Provider: "openai"}, {Model: "claude-3-5-haiku-latest"}, {Route: "career_advice"}, {Client: "qa"},
		{Provider: "openai", Client: "rails-app"}, {Route: "nope"},
	} {
		r := report(t, s, usage.Query{Granularity: usage.Day, Filter: f, GroupBy: usage.ByClient}, now)
		want := sum(func(d usage.Dims) bool {
			return (f.Provider == "" || f.Provider == d.Provider) && (f.Model == "" || f.Model == d.Model) &&
				(f.Route == "" || f.Route == d.Route) && (f.Client == "" || f.Client == d.Client)
		})
		if r.Total.OutputTokens != want || int64(r.Total.Cost) != want {
			t.Errorf("filter %+v: total %+v, want %d", f, r.Total, want)
		}
		for _, row := range r.Rows {
			if row.Provider != "" || row.Model != "" || row.Route != "" || (f.Client != "" && row.Client != f.Client) {
				t.Errorf("filter %+v grouped by client: row %+v", f, row)
			}
		}
	}
	r := report(t, s, usage.Query{Granularity: usage.Day, GroupBy: usage.ByRoute}, now)
	if len(r.Rows) != 3 || r.Rows[0].Route != "" || r.Rows[1].Route != "career_advice" || r.Rows[2].Route != "resume_review" {
		t.Fatalf("by route: %+v", r.Rows)
	}
	if r.Rows[1].OutputTokens != sum(func(d usage.Dims) bool { return d.Route == "career_advice" }) {
		t.Errorf("career_advice: %+v", r.Rows[1])
	}
}

// testCleanDims: names with the separator or control bytes are stored
// with '_' in their place, and long ones cut.
func testCleanDims(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{})
	now := time.Now()
	long := string(make([]byte, 300))
	record(t, s, usage.Entry{Time: now, Dims: usage.Dims{Provider: "a|b", Model: "m\n1", Route: long, Client: "c"}, OutputTokens: 3})
	r := report(t, s, usage.Query{Granularity: usage.Hour, GroupBy: usage.ByProvider | usage.ByModel | usage.ByRoute | usage.ByClient}, now)
	if len(r.Rows) != 1 {
		t.Fatalf("rows %+v", r.Rows)
	}
	d := r.Rows[0].Dims
	if d.Provider != "a_b" || d.Model != "m_1" || len(d.Route) != usage.MaxDimBytes || d.Client != "c" || r.Rows[0].OutputTokens != 3 {
		t.Errorf("dims %+v", d)
	}
}

// testInvalid: entries without a time or with negative amounts are
// refused; queries with an empty or too long range too.
func testInvalid(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{})
	now := time.Now()
	for _, e := range []usage.Entry{
		{Dims: Dims(0)},
		{Time: now, InputTokens: -1},
		{Time: now, Cost: -1},
		{Time: now, Saved: -1},
	} {
		if err := s.Record(ctx, e); !errors.Is(err, usage.ErrInvalid) {
			t.Errorf("Record(%+v) = %v, want ErrInvalid", e, err)
		}
	}
	for field, q := range map[string]usage.Query{
		"end":         {Granularity: usage.Day, Start: now, End: now.Add(-time.Hour)},
		"start":       {Granularity: usage.Hour, Start: now.Add(-8 * 24 * time.Hour), End: now},
		"start ":      {Granularity: usage.Day, Start: now.AddDate(-2, 0, 0), End: now},
		"start  ":     {Granularity: usage.Month, Start: now.AddDate(-6, 0, 0), End: now},
		"granularity": {Granularity: usage.Granularity(9)},
	} {
		_, err := usage.Report(ctx, s, q, now)
		var qe *usage.QueryError
		if !errors.Is(err, usage.ErrInvalid) || !errors.As(err, &qe) || qe.Field != strings.TrimSpace(field) {
			t.Errorf("Report(%+v) = %v, want ErrInvalid naming %s", q, err, field)
		}
	}
	if r := report(t, s, usage.Query{Granularity: usage.Day}, now); len(r.Rows) != 0 || r.Total != (usage.Counts{}) {
		t.Errorf("refused entries were recorded: %+v", r)
	}
}

// testConcurrent: concurrent records lose nothing.
func testConcurrent(t *testing.T, newStore Factory) {
	s := newStore(t, usage.Retention{})
	now := time.Now()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := s.Record(ctx, usage.Entry{Time: now, Dims: Dims(w + i), InputTokens: 2, Cost: 3, CacheHit: i%5 == 0, Saved: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	r := report(t, s, usage.Query{Granularity: usage.Month, GroupBy: usage.ByClient}, now)
	n := int64(workers * each)
	want := usage.Counts{Requests: n, CacheHits: n / 5, InputTokens: 2 * n, Cost: usage.Nanos(3 * n), Saved: usage.Nanos(n)}
	if r.Total != want {
		t.Errorf("total %+v, want %+v", r.Total, want)
	}
}
