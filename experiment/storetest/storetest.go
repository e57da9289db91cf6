// Package storetest is the conformance suite every [experiment.Store]
// implementation runs, so that the in-memory and the Redis store behave the
// same way.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/experiment"
)

// Options are what the suite asks of a new store.
type Options struct {
	// AttributionTTL is the attribution TTL the store must use.
	AttributionTTL time.Duration
}

// Factory returns a new, empty store, independent of every store it
// returned before (e.g. a fresh Redis key prefix). It is called once per
// subtest.
type Factory func(t *testing.T, opts Options) experiment.Store

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"RecordAndSnapshot", testRecordAndSnapshot},
		{"CacheHitsKeptApart", testCacheHitsKeptApart},
		{"UnknownExperiment", testUnknownExperiment},
		{"ExperimentsAreSeparate", testExperimentsAreSeparate},
		{"Feedback", testFeedback},
		{"FeedbackLastWins", testFeedbackLastWins},
		{"FeedbackUncounted", testFeedbackUncounted},
		{"UnknownResponse", testUnknownResponse},
		{"FeedbackOnlyFromReceiver", testFeedbackOnlyFromReceiver},
		{"AttributionExpires", testAttributionExpires},
		{"Invalid", testInvalid},
		{"Concurrent", testConcurrent},
		{"ConcurrentFeedbackOneResponse", testConcurrentFeedbackOneResponse},
		{"Report", testReport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

func defaults(t *testing.T, f Factory) experiment.Store {
	return f(t, Options{AttributionTTL: time.Hour})
}

func obs(variant, id string) experiment.Observation {
	return experiment.Observation{
		Route: "career_advice", Experiment: "career_advice", Variant: variant,
		Provider: "openai", Model: "gpt-4o-mini", ResponseID: id,
		Latency: 100 * time.Millisecond, InputTokens: 10, OutputTokens: 20, CostUSD: 0.001,
	}
}

func record(t *testing.T, s experiment.Store, o experiment.Observation) {
	t.Helper()
	if err := s.Record(context.Background(), o); err != nil {
		t.Fatalf("Record(%+v): %v", o, err)
	}
}

func snapshot(t *testing.T, s experiment.Store, exp string) *experiment.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(context.Background(), exp)
	if err != nil {
		t.Fatalf("Snapshot(%q): %v", exp, err)
	}
	return snap
}

func variantOf(t *testing.T, snap *experiment.Snapshot, name string) experiment.Counters {
	t.Helper()
	for _, v := range snap.Variants {
		if v.Variant == name {
			return v
		}
	}
	t.Fatalf("snapshot of %q has no variant %q: %+v", snap.Experiment, name, snap.Variants)
	return experiment.Counters{}
}

func feedback(t *testing.T, s experiment.Store, id string, o experiment.Outcome) experiment.Attribution {
	t.Helper()
	a, err := s.Feedback(context.Background(), id, experiment.AnyClient, o)
	if err != nil {
		t.Fatalf("Feedback(%q): %v", id, err)
	}
	return a
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// bucket is the histogram bucket of d, found through the public bounds.
func bucket(d time.Duration) int {
	for i, b := range experiment.BucketBounds() {
		if d < b {
			return i
		}
	}
	return len(experiment.BucketBounds())
}

func testRecordAndSnapshot(t *testing.T, f Factory) {
	s := defaults(t, f)
	a1 := obs("a", "r1")
	a2 := obs("a", "r2")
	a2.Latency, a2.Provider, a2.Model, a2.CostUSD = 2*time.Second, "anthropic", "claude", 0.5
	aErr := obs("a", "")
	aErr.ErrorClass, aErr.Latency, aErr.OutputTokens, aErr.CostUSD = "rate_limited", 30*time.Second, 0, 0.25
	aErr2 := aErr
	aErr2.ErrorClass = "timeout"
	b1 := obs("b", "r3")
	b1.Latency = 90 * time.Second // past the last bucket
	for _, o := range []experiment.Observation{a1, a2, aErr, aErr2, aErr, b1} {
		record(t, s, o)
	}
	snap := snapshot(t, s, "career_advice")
	if snap.Experiment != "career_advice" || snap.Route != "career_advice" {
		t.Errorf("snapshot names experiment %q route %q", snap.Experiment, snap.Route)
	}
	if len(snap.Variants) != 2 || snap.Variants[0].Variant != "a" || snap.Variants[1].Variant != "b" {
		t.Fatalf("variants = %+v, want a and b in order", snap.Variants)
	}
	a := variantOf(t, snap, "a")
	if a.Requests != 5 || a.Errors != 3 || a.CacheHits != 0 {
		t.Errorf("a: requests %d errors %d cache hits %d, want 5, 3, 0", a.Requests, a.Errors, a.CacheHits)
	}
	if a.ErrorsByClass["rate_limited"] != 2 || a.ErrorsByClass["timeout"] != 1 || len(a.ErrorsByClass) != 2 {
		t.Errorf("a: errors by class %v", a.ErrorsByClass)
	}
	if a.Models["openai/gpt-4o-mini"] != 4 || a.Models["anthropic/claude"] != 1 || len(a.Models) != 2 {
		t.Errorf("a: models %v", a.Models)
	}
	// Tokens and cost add up failed requests too: 5×10 in, 2×20 out.
	if a.InputTokens != 50 || a.OutputTokens != 40 {
		t.Errorf("a: tokens in %d out %d, want 50 and 40", a.InputTokens, a.OutputTokens)
	}
	if want := 0.001 + 0.5 + 3*0.25; !near(a.CostUSD, want) {
		t.Errorf("a: cost %v, want %v", a.CostUSD, want)
	}
	// Only successful requests enter the latency histogram.
	var wantLat experiment.Histogram
	wantLat[bucket(100*time.Millisecond)]++
	wantLat[bucket(2*time.Second)]++
	if a.Latency != wantLat {
		t.Errorf("a: latency histogram %v, want %v", a.Latency, wantLat)
	}
	b := variantOf(t, snap, "b")
	if b.Requests != 1 || b.Latency[experiment.NumBuckets-1] != 1 {
		t.Errorf("b: requests %d, overflow bucket %d; want 1 and 1", b.Requests, b.Latency[experiment.NumBuckets-1])
	}
	if b.Latency.Quantile(0.5) != experiment.MaxLatency {
		t.Errorf("b: p50 %v, want %v", b.Latency.Quantile(0.5), experiment.MaxLatency)
	}
}

func testCacheHitsKeptApart(t *testing.T, f Factory) {
	s := defaults(t, f)
	record(t, s, obs("a", "fresh"))
	hit := obs("a", "hit")
	hit.CacheHit, hit.Latency, hit.CostUSD = true, time.Millisecond, 0.75
	record(t, s, hit)
	record(t, s, hit)
	a := variantOf(t, snapshot(t, s, "career_advice"), "a")
	if a.CacheHits != 2 || a.Requests != 1 {
		t.Errorf("cache hits %d requests %d, want 2 and 1", a.CacheHits, a.Requests)
	}
	if a.InputTokens != 10 || !near(a.CostUSD, 0.001) || a.Latency.Count() != 1 || a.Models["openai/gpt-4o-mini"] != 1 {
		t.Errorf("a cache hit leaked into the statistics: %+v", a)
	}
}

func testUnknownExperiment(t *testing.T, f Factory) {
	s := defaults(t, f)
	record(t, s, obs("a", ""))
	for _, name := range []string{"nothing_here", "bad{name}", ""} {
		snap := snapshot(t, s, name)
		if len(snap.Variants) != 0 || snap.Experiment != name {
			t.Errorf("Snapshot(%q) = %+v, want no variants", name, snap)
		}
	}
}

func testExperimentsAreSeparate(t *testing.T, f Factory) {
	s := defaults(t, f)
	record(t, s, obs("a", "x1"))
	other := obs("a", "x2")
	other.Route, other.Experiment = "resume_review", "resume_review_v2"
	record(t, s, other)
	record(t, s, other)
	if a := variantOf(t, snapshot(t, s, "career_advice"), "a"); a.Requests != 1 {
		t.Errorf("career_advice/a requests %d, want 1", a.Requests)
	}
	snap := snapshot(t, s, "resume_review_v2")
	if a := variantOf(t, snap, "a"); a.Requests != 2 || snap.Route != "resume_review" {
		t.Errorf("resume_review_v2: route %q, a requests %d; want resume_review and 2", snap.Route, a.Requests)
	}
	if at := feedback(t, s, "x2", experiment.Bool(true)); at.Experiment != "resume_review_v2" || at.Route != "resume_review" {
		t.Errorf("feedback attributed to %+v", at)
	}
}

func testFeedback(t *testing.T, f Factory) {
	s := defaults(t, f)
	for i := range 4 {
		record(t, s, obs("a", "a"+strconv.Itoa(i)))
		record(t, s, obs("b", "b"+strconv.Itoa(i)))
	}
	got := feedback(t, s, "a0", experiment.Bool(true))
	want := experiment.Attribution{Route: "career_advice", Experiment: "career_advice", Variant: "a", Counted: true}
	if got != want {
		t.Errorf("Feedback attribution = %+v, want %+v", got, want)
	}
	feedback(t, s, "a1", experiment.Bool(true))
	feedback(t, s, "a2", experiment.Bool(false))
	feedback(t, s, "a3", experiment.Score(4.5))
	feedback(t, s, "b0", experiment.Score(2))
	feedback(t, s, "b1", experiment.Score(3))
	snap := snapshot(t, s, "career_advice")
	a, b := variantOf(t, snap, "a"), variantOf(t, snap, "b")
	if a.Successes != 2 || a.Failures != 1 || a.Scores != 1 || !near(a.ScoreSum, 4.5) {
		t.Errorf("a feedback: %d successes, %d failures, %d scores summing to %v; want 2, 1, 1, 4.5",
			a.Successes, a.Failures, a.Scores, a.ScoreSum)
	}
	if b.Successes != 0 || b.Failures != 0 || b.Scores != 2 || !near(b.ScoreSum, 5) {
		t.Errorf("b feedback: %d successes, %d failures, %d scores summing to %v; want 0, 0, 2, 5",
			b.Successes, b.Failures, b.Scores, b.ScoreSum)
	}
}

func testFeedbackLastWins(t *testing.T, f Factory) {
	s := defaults(t, f)
	record(t, s, obs("a", "r"))
	check := func(step string, succ, fail, scores int64, sum float64) {
		t.Helper()
		a := variantOf(t, snapshot(t, s, "career_advice"), "a")
		if a.Successes != succ || a.Failures != fail || a.Scores != scores || !near(a.ScoreSum, sum) {
			t.Errorf("after %s: %d/%d/%d sum %v, want %d/%d/%d sum %v", step,
				a.Successes, a.Failures, a.Scores, a.ScoreSum, succ, fail, scores, sum)
		}
	}
	if at := feedback(t, s, "r", experiment.Bool(true)); at.Replaced {
		t.Error("first verdict reported as replacing another")
	}
	check("success", 1, 0, 0, 0)
	if at := feedback(t, s, "r", experiment.Bool(false)); !at.Replaced {
		t.Error("second verdict not reported as replacing the first")
	}
	check("failure replacing success", 0, 1, 0, 0)
	feedback(t, s, "r", experiment.Score(4))
	check("score replacing failure", 0, 0, 1, 4)
	feedback(t, s, "r", experiment.Score(2))
	check("score replacing score", 0, 0, 1, 2)
	feedback(t, s, "r", experiment.Bool(true))
	check("success replacing score", 1, 0, 0, 0)
}

func testFeedbackUncounted(t *testing.T, f Factory) {
	s := defaults(t, f)
	hit := obs("a", "hit")
	hit.CacheHit = true
	rescued := obs("a", "rescued")
	rescued.ErrorClass = "overloaded"
	record(t, s, hit)
	record(t, s, rescued)
	for _, id := range []string{"hit", "rescued"} {
		at := feedback(t, s, id, experiment.Bool(true))
		if at.Counted || at.Variant != "a" {
			t.Errorf("feedback on %s: %+v, want variant a, not counted", id, at)
		}
		if at := feedback(t, s, id, experiment.Score(1)); !at.Replaced || at.Counted {
			t.Errorf("second feedback on %s: %+v, want replaced, not counted", id, at)
		}
	}
	a := variantOf(t, snapshot(t, s, "career_advice"), "a")
	if a.Successes+a.Failures+a.Scores != 0 {
		t.Errorf("uncounted feedback was counted: %+v", a)
	}
}

// testFeedbackOnlyFromReceiver: a response recorded for a client takes
// feedback from that client and from AnyClient; another client's is
// refused as unknown and not counted. A response recorded without a
// client takes anyone's.
func testFeedbackOnlyFromReceiver(t *testing.T, f Factory) {
	s := defaults(t, f)
	o := obs("a", "owned")
	o.Client = "rails"
	record(t, s, o)
	record(t, s, obs("b", "unowned"))
	ctx := context.Background()
	if _, err := s.Feedback(ctx, "owned", "reporting", experiment.Bool(false)); !errors.Is(err, experiment.ErrUnknownResponse) {
		t.Fatalf("Feedback from another client: %v, want ErrUnknownResponse", err)
	}
	if a := variantOf(t, snapshot(t, s, "career_advice"), "a"); a.Failures != 0 {
		t.Fatalf("another client's verdict was counted: %+v", a)
	}
	if a, err := s.Feedback(ctx, "owned", "rails", experiment.Bool(true)); err != nil || a.Variant != "a" || a.Replaced {
		t.Fatalf("Feedback from the receiver: %+v, %v", a, err)
	}
	if a, err := s.Feedback(ctx, "owned", experiment.AnyClient, experiment.Bool(false)); err != nil || !a.Replaced {
		t.Fatalf("Feedback from AnyClient: %+v, %v", a, err)
	}
	if _, err := s.Feedback(ctx, "unowned", "reporting", experiment.Bool(true)); err != nil {
		t.Fatalf("Feedback on a response recorded without a client: %v", err)
	}
	if a := variantOf(t, snapshot(t, s, "career_advice"), "a"); a.Successes != 0 || a.Failures != 1 {
		t.Errorf("counters after the receiver's and AnyClient's verdicts: %+v, want 1 failure", a)
	}
	bad := obs("a", "x")
	bad.Client = experiment.AnyClient
	if err := s.Record(ctx, bad); !errors.Is(err, experiment.ErrInvalid) {
		t.Errorf("Record with client %q: %v, want ErrInvalid", experiment.AnyClient, err)
	}
}

func testUnknownResponse(t *testing.T, f Factory) {
	s := defaults(t, f)
	record(t, s, obs("a", "known"))
	_, err := s.Feedback(context.Background(), "never-issued", experiment.AnyClient, experiment.Bool(true))
	if !errors.Is(err, experiment.ErrUnknownResponse) {
		t.Errorf("Feedback(unknown id) error = %v, want ErrUnknownResponse", err)
	}
}

func testAttributionExpires(t *testing.T, f Factory) {
	s := f(t, Options{AttributionTTL: 300 * time.Millisecond})
	record(t, s, obs("a", "short-lived"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Feedback(context.Background(), "short-lived", experiment.AnyClient, experiment.Bool(true))
		if errors.Is(err, experiment.ErrUnknownResponse) {
			break
		}
		if err != nil {
			t.Fatalf("Feedback: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the attribution did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Feedback before expiry may have counted; after expiry nothing
	// changes any more.
	before := variantOf(t, snapshot(t, s, "career_advice"), "a")
	_, _ = s.Feedback(context.Background(), "short-lived", experiment.AnyClient, experiment.Bool(false))
	if after := variantOf(t, snapshot(t, s, "career_advice"), "a"); after.Failures != before.Failures {
		t.Error("feedback after expiry was counted")
	}
}

func testInvalid(t *testing.T, f Factory) {
	s := defaults(t, f)
	ctx := context.Background()
	bad := map[string]func(*experiment.Observation){
		"no experiment":       func(o *experiment.Observation) { o.Experiment = "" },
		"no route":            func(o *experiment.Observation) { o.Route = "" },
		"no variant":          func(o *experiment.Observation) { o.Variant = "" },
		"brace in experiment": func(o *experiment.Observation) { o.Experiment = "a{b}" },
		"space in variant":    func(o *experiment.Observation) { o.Variant = "a b" },
		"pipe in route":       func(o *experiment.Observation) { o.Route = "a|b" },
		"error class":         func(o *experiment.Observation) { o.ErrorClass = "Rate Limited" },
		"negative latency":    func(o *experiment.Observation) { o.Latency = -1 },
		"negative tokens":     func(o *experiment.Observation) { o.InputTokens = -1 },
		"NaN cost":            func(o *experiment.Observation) { o.CostUSD = math.NaN() },
		"control in model":    func(o *experiment.Observation) { o.Model = "gpt\n" },
	}
	for name, mutate := range bad {
		o := obs("a", "x")
		mutate(&o)
		if err := s.Record(ctx, o); !errors.Is(err, experiment.ErrInvalid) {
			t.Errorf("Record with %s: error %v, want ErrInvalid", name, err)
		}
	}
	if snap := snapshot(t, s, "career_advice"); len(snap.Variants) != 0 {
		t.Errorf("invalid observations were recorded: %+v", snap.Variants)
	}
	record(t, s, obs("a", "x"))
	for name, o := range map[string]experiment.Outcome{
		"no verdict":  {},
		"NaN score":   experiment.Score(math.NaN()),
		"+Inf score":  experiment.Score(math.Inf(1)),
		"huge score":  experiment.Score(2e6),
		"-huge score": experiment.Score(-2e6),
	} {
		if _, err := s.Feedback(ctx, "x", experiment.AnyClient, o); !errors.Is(err, experiment.ErrInvalid) {
			t.Errorf("Feedback with %s: error %v, want ErrInvalid", name, err)
		}
	}
	for _, id := range []string{"", string(make([]byte, experiment.MaxResponseIDBytes+1))} {
		if _, err := s.Feedback(ctx, id, experiment.AnyClient, experiment.Bool(true)); !errors.Is(err, experiment.ErrInvalid) {
			t.Errorf("Feedback with a %d-byte id: error %v, want ErrInvalid", len(id), err)
		}
	}
}

func testConcurrent(t *testing.T, f Factory) {
	s := defaults(t, f)
	const workers, each = 4, 48
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				v := "a"
				if i%2 == 1 {
					v = "b"
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Record(context.Background(), obs(v, id)); err != nil {
					errs <- err
					return
				}
				if _, err := s.Feedback(context.Background(), id, experiment.AnyClient, experiment.Bool(i%4 < 2)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap := snapshot(t, s, "career_advice")
	for _, name := range []string{"a", "b"} {
		v := variantOf(t, snap, name)
		// i even → a, odd → b; i%4 < 2 → success: a gets i%4 == 0
		// (success) and 2 (failure), b gets 1 (success) and 3 (failure).
		n := int64(workers * each / 2)
		if v.Requests != n || v.Successes != n/2 || v.Failures != n/2 || v.Latency.Count() != n {
			t.Errorf("%s: %d requests, %d successes, %d failures, %d latencies; want %d, %d, %d, %d",
				name, v.Requests, v.Successes, v.Failures, v.Latency.Count(), n, n/2, n/2, n)
		}
		if !near(v.CostUSD, float64(n)*0.001) {
			t.Errorf("%s: cost %v, want %v", name, v.CostUSD, float64(n)*0.001)
		}
	}
}

func testConcurrentFeedbackOneResponse(t *testing.T, f Factory) {
	s := defaults(t, f)
	record(t, s, obs("a", "contended"))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				var o experiment.Outcome
				switch (w + i) % 3 {
				case 0:
					o = experiment.Bool(true)
				case 1:
					o = experiment.Bool(false)
				default:
					o = experiment.Score(float64(i))
				}
				if _, err := s.Feedback(context.Background(), "contended", experiment.AnyClient, o); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Whatever order the verdicts landed in, the response counts once.
	a := variantOf(t, snapshot(t, s, "career_advice"), "a")
	if a.Successes < 0 || a.Failures < 0 || a.Scores < 0 || a.Successes+a.Failures+a.Scores != 1 {
		t.Errorf("after concurrent verdicts: %d successes, %d failures, %d scores; want exactly one verdict",
			a.Successes, a.Failures, a.Scores)
	}
	if a.Scores == 0 && a.ScoreSum != 0 {
		t.Errorf("score sum %v left behind without scores", a.ScoreSum)
	}
}

func testReport(t *testing.T, f Factory) {
	s := defaults(t, f)
	for i := range 40 {
		id := "a" + strconv.Itoa(i)
		record(t, s, obs("a", id))
		feedback(t, s, id, experiment.Bool(i < 30)) // a: 30/40
		id = "b" + strconv.Itoa(i)
		record(t, s, obs("b", id))
		feedback(t, s, id, experiment.Bool(i < 10)) // b: 10/40
	}
	r := snapshot(t, s, "career_advice").Report()
	if r.Leader != "a" || len(r.Comparisons) != 1 || r.Comparisons[0].Variant != "b" {
		t.Fatalf("report leader %q comparisons %+v, want a against b", r.Leader, r.Comparisons)
	}
	// p̂ = 40/80 = .5, SE = √(.25 × 2/40) = .1118, z = .5/.1118 = 4.47.
	c := r.Comparisons[0]
	if math.Abs(c.Z-4.4721) > 1e-3 || !c.Significant || c.ProbabilityLeaderBetter < 0.999 {
		t.Errorf("comparison %+v, want z ≈ 4.47, significant, P(a > b) > 0.999", c)
	}
}
