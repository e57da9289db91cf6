package experiment_test

import (
	"math"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/experiment"
)

func counters(name string, succ, fail int64) experiment.Counters {
	return experiment.Counters{Variant: name, Successes: succ, Failures: fail}
}

func TestReport(t *testing.T) {
	a := counters("a", 200, 800)
	a.Requests, a.Errors, a.CostUSD, a.Scores, a.ScoreSum = 1010, 10, 2.02, 4, 14
	a.InputTokens, a.OutputTokens = 5000, 7000
	for range 10 {
		a.Latency.Observe(100 * time.Millisecond)
	}
	b := counters("b", 250, 750)
	b.Requests = 1000
	snap := &experiment.Snapshot{Experiment: "e", Route: "r", Variants: []experiment.Counters{b, a}}
	r := snap.Report()
	if r.Experiment != "e" || r.Route != "r" || len(r.Variants) != 2 || r.Variants[0].Variant != "a" {
		t.Fatalf("report %+v", r)
	}
	va := r.Variants[0]
	if va.SuccessRate != 0.2 || va.FeedbackCount != 1004 || va.MeanScore != 3.5 || va.CostPerRequestUSD != 0.002 {
		t.Errorf("a: rate %v feedback %d mean score %v cost/request %v; want .2, 1004, 3.5, .002",
			va.SuccessRate, va.FeedbackCount, va.MeanScore, va.CostPerRequestUSD)
	}
	if va.LatencyP50 < 95*time.Millisecond || va.LatencyP50 > 105*time.Millisecond || va.InputTokens != 5000 {
		t.Errorf("a: p50 %v, input tokens %d", va.LatencyP50, va.InputTokens)
	}
	if r.Leader != "b" || len(r.Comparisons) != 1 {
		t.Fatalf("leader %q comparisons %+v, want b against a", r.Leader, r.Comparisons)
	}
	// The worked example of TestZTest: z = 2.6774, p = .00742, and the
	// closed-form posterior probability .99628.
	c := r.Comparisons[0]
	if c.Leader != "b" || c.Variant != "a" || math.Abs(c.Z-2.677398) > 1e-5 || math.Abs(c.PValue-0.0074196) > 1e-6 ||
		!c.Significant || c.SmallSample || math.Abs(c.ProbabilityLeaderBetter-0.996283) > 1e-5 {
		t.Errorf("comparison %+v", c)
	}
	if pb := r.Variants[1].ProbabilityToBeBest; math.Abs(pb-0.996283) > 1e-5 ||
		math.Abs(pb+r.Variants[0].ProbabilityToBeBest-1) > 1e-6 {
		t.Errorf("probabilities to be best: %v, %v", r.Variants[0].ProbabilityToBeBest, pb)
	}
}

func TestReportLeaderTies(t *testing.T) {
	tests := []struct {
		name     string
		variants []experiment.Counters
		leader   string
	}{
		{"higher rate", []experiment.Counters{counters("a", 1, 1), counters("b", 3, 1)}, "b"},
		{"same rate, more feedback", []experiment.Counters{counters("a", 2, 2), counters("b", 1, 1)}, "a"},
		{"same rate and feedback: name", []experiment.Counters{counters("b", 1, 1), counters("a", 1, 1)}, "a"},
		{"no binary feedback", []experiment.Counters{counters("a", 0, 0), counters("b", 0, 0)}, ""},
		{"only one with feedback", []experiment.Counters{counters("a", 0, 0), counters("b", 0, 3)}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := (&experiment.Snapshot{Variants: tc.variants}).Report()
			if r.Leader != tc.leader {
				t.Errorf("leader %q, want %q", r.Leader, tc.leader)
			}
			if tc.leader == "" && len(r.Comparisons) != 0 {
				t.Errorf("comparisons without a leader: %+v", r.Comparisons)
			}
		})
	}
}

func TestReportSmallSamples(t *testing.T) {
	r := (&experiment.Snapshot{Variants: []experiment.Counters{
		counters("a", 9, 1), counters("b", 0, 0), counters("c", 50, 50),
	}}).Report()
	if r.Leader != "a" || len(r.Comparisons) != 2 {
		t.Fatalf("report %+v", r)
	}
	for _, c := range r.Comparisons {
		// a has only 1 failure: every comparison is a small sample.
		if !c.SmallSample {
			t.Errorf("%s vs %s not flagged as a small sample", c.Leader, c.Variant)
		}
	}
	// b has no binary feedback: nothing to test, z = 0 and p = 1; its
	// uniform posterior still gives it a chance to be best.
	if c := r.Comparisons[0]; c.Variant != "b" || c.Z != 0 || c.PValue != 1 || c.Significant {
		t.Errorf("comparison with b: %+v", c)
	}
	if r.Variants[1].ProbabilityToBeBest <= 0 {
		t.Errorf("b's probability to be best is %v", r.Variants[1].ProbabilityToBeBest)
	}
	// No data at all: uniform.
	empty := (&experiment.Snapshot{Variants: []experiment.Counters{counters("a", 0, 0), counters("b", 0, 0)}}).Report()
	for _, v := range empty.Variants {
		if math.Abs(v.ProbabilityToBeBest-0.5) > 1e-6 || v.CostPerRequestUSD != 0 || v.SuccessRate != 0 || v.LatencyP95 != 0 {
			t.Errorf("variant without data: %+v", v)
		}
	}
}
