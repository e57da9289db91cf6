package console

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/experiment"
)

// MinDifference is the difference in success rate, in points of a
// percentage, that the experiments page plans sample sizes for.
const MinDifference = 0.02

// VariantStats is one variant on /console/api/experiments.
type VariantStats struct {
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Requests, Errors and ErrorRate count calls that were not cache hits.
	Requests  int64 `json:"requests"`
	Errors    int64 `json:"errors"`
	ErrorRate num   `json:"error_rate"`
	CacheHits int64 `json:"cache_hits"`
	// Feedback counts answers with a verdict; Successes and Failures the
	// binary ones, SuccessRate their rate and CILow, CIHigh its Wilson 95 %
	// interval.
	Feedback    int64 `json:"feedback"`
	Successes   int64 `json:"successes"`
	Failures    int64 `json:"failures"`
	SuccessRate num   `json:"success_rate"`
	CILow       num   `json:"ci_low"`
	CIHigh      num   `json:"ci_high"`
	// Scores counts scored verdicts; MeanScore is their mean.
	Scores    int64 `json:"scores"`
	MeanScore num   `json:"mean_score"`
	P50MS     num   `json:"p50_ms"`
	P95MS     num   `json:"p95_ms"`
	// CostPerAnswer is the variant's cost divided by its requests.
	CostPerAnswer num `json:"cost_per_answer_usd"`
	// ProbabilityBest is the posterior probability that the variant has
	// the highest success rate.
	ProbabilityBest num `json:"probability_best"`
}

// Comparison tests the leader's success rate against another variant's
// (see [experiment.Comparison]).
type Comparison struct {
	Leader                  string `json:"leader"`
	Variant                 string `json:"variant"`
	Z                       num    `json:"z"`
	PValue                  num    `json:"p_value"`
	Significant             bool   `json:"significant"`
	ProbabilityLeaderBetter num    `json:"probability_leader_better"`
	SmallSample             bool   `json:"small_sample"`
}

// ExperimentReport is one route's experiment on /console/api/experiments.
type ExperimentReport struct {
	Route      string         `json:"route"`
	Experiment string         `json:"experiment"`
	Control    string         `json:"control"`
	Variants   []VariantStats `json:"variants"`
	// Leader is the variant with the highest success rate; empty without
	// binary feedback.
	Leader      string       `json:"leader"`
	Comparisons []Comparison `json:"comparisons"`
	// Winner is the leader when it beats every other variant
	// significantly; empty otherwise.
	Winner string `json:"winner"`
	// Verdict says it in one sentence.
	Verdict string `json:"verdict"`
	// NeededPerVariant is the sample size per variant to detect a
	// [MinDifference] at the leader's rate.
	NeededPerVariant int64 `json:"needed_per_variant"`
	// Timeline charts each variant's calls per second and p95 latency on
	// this replica.
	Timeline VariantTimeline `json:"timeline"`
	// Error is set when the store could not be read.
	Error string `json:"error,omitempty"`
}

// VariantTimeline is per-variant charts: one value per bucket.
type VariantTimeline struct {
	StepSeconds int              `json:"step_seconds"`
	T           []int64          `json:"t"`
	RPS         map[string][]num `json:"rps"`
	P95MS       map[string][]num `json:"p95_ms"`
}

// Experiments is /console/api/experiments. Its counts and feedback come
// from the experiment store (the cluster's); its timelines are this
// replica's.
type Experiments struct {
	header
	Range       string             `json:"range"`
	Experiments []ExperimentReport `json:"experiments"`
}

func (c *Console) experiments(ctx context.Context, sp span, src *Sources) Experiments {
	now := c.now()
	out := Experiments{header: c.header(now, ScopeCluster), Range: sp.name, Experiments: []ExperimentReport{}}
	if src.Config == nil {
		return out
	}
	cfg := src.Config()
	for _, name := range slices.Sorted(maps.Keys(cfg.Routes.Routes)) {
		route := cfg.Routes.Routes[name]
		er := ExperimentReport{Route: name, Experiment: route.ExperimentID(name), Comparisons: []Comparison{}}
		if route.Experiment != nil && route.Experiment.Control != "" {
			er.Control = route.Experiment.Control
		} else if len(route.Variants) > 0 {
			er.Control = route.Variants[0].Name
		}
		var rep *experiment.Report
		if src.Experiments != nil {
			snap, err := src.Experiments.Snapshot(ctx, er.Experiment)
			if err != nil {
				er.Error = err.Error()
			} else {
				rep = snap.Report()
			}
		}
		byName := map[string]experiment.VariantReport{}
		if rep != nil {
			for _, v := range rep.Variants {
				byName[v.Variant] = v
			}
			er.Leader = rep.Leader
			for _, cmp := range rep.Comparisons {
				er.Comparisons = append(er.Comparisons, Comparison{Leader: cmp.Leader, Variant: cmp.Variant, Z: num(cmp.Z),
					PValue: num(cmp.PValue), Significant: cmp.Significant,
					ProbabilityLeaderBetter: num(cmp.ProbabilityLeaderBetter), SmallSample: cmp.SmallSample})
			}
		}
		for _, v := range route.Variants {
			r := byName[v.Name]
			vs := VariantStats{Name: v.Name, Weight: v.Weight, Provider: v.Provider, Model: v.Model,
				Requests: r.Requests, Errors: r.Errors, ErrorRate: num(ratio(r.Errors, r.Requests)), CacheHits: r.CacheHits,
				Feedback: r.FeedbackCount, Successes: r.Successes, Failures: r.Failures,
				SuccessRate: num(ratio(r.Successes, r.Successes+r.Failures)), Scores: r.ScoreCount,
				MeanScore: num(math.NaN()), P50MS: num(math.NaN()), P95MS: num(math.NaN()),
				CostPerAnswer: num(math.NaN()), ProbabilityBest: num(r.ProbabilityToBeBest)}
			lo, hi := experiment.Wilson(r.Successes, r.Successes+r.Failures, experiment.Alpha)
			vs.CILow, vs.CIHigh = num(lo), num(hi)
			if r.ScoreCount > 0 {
				vs.MeanScore = num(r.MeanScore)
			}
			if r.LatencyP50 > 0 {
				vs.P50MS, vs.P95MS = num(msOf(r.LatencyP50)), num(msOf(r.LatencyP95))
			}
			if r.Requests > 0 {
				vs.CostPerAnswer = num(r.CostPerRequestUSD)
			}
			if rep == nil || len(rep.Variants) == 0 {
				vs.ProbabilityBest = num(math.NaN())
			}
			er.Variants = append(er.Variants, vs)
		}
		er.Winner, er.Verdict, er.NeededPerVariant = verdict(er.Variants, er.Leader, er.Comparisons)
		er.Timeline = c.variantTimeline(sp, now, name, route.Variants)
		out.Experiments = append(out.Experiments, er)
	}
	return out
}

// verdict says in one sentence what the experiment shows: the winner and
// the p-value of its closest rival when the leader beats every other
// variant significantly (and with enough successes and failures for the
// z-test), else how many more answers per variant a [MinDifference]
// needs.
func verdict(vs []VariantStats, leader string, cs []Comparison) (winner, sentence string, needed int64) {
	if len(vs) < 2 {
		return "", "one variant: nothing to compare", 0
	}
	var have int64 = math.MaxInt64
	var successes, trials int64
	for _, v := range vs {
		n := v.Successes + v.Failures
		have = min(have, n)
		successes += v.Successes
		trials += n
	}
	base := 0.5
	if trials > 0 {
		base = float64(successes) / float64(trials)
	}
	p1, p2 := base, base+MinDifference
	if p2 > 1 {
		p1, p2 = base-MinDifference, base
	}
	needed = experiment.SampleSize(p1, p2, experiment.Alpha, experiment.Power)
	if leader != "" && len(cs) == len(vs)-1 {
		all, worst := true, cs[0]
		for _, c := range cs {
			if !c.Significant || c.SmallSample {
				all = false
			}
			if c.PValue > worst.PValue {
				worst = c
			}
		}
		if all {
			others := make([]string, len(cs))
			for i, c := range cs {
				others[i] = c.Variant
			}
			return leader, fmt.Sprintf("%s is better than %s, %s", leader, strings.Join(others, " and "), pValue(float64(worst.PValue))), needed
		}
	}
	if trials == 0 {
		return "", fmt.Sprintf("no feedback yet: about %d answers per variant are needed to detect a %g-point difference",
			needed, MinDifference*100), needed
	}
	if more := needed - have; more > 0 {
		return "", fmt.Sprintf("not enough data: about %d more answers per variant to detect a %g-point difference",
			more, MinDifference*100), needed
	}
	p := 1.0
	for _, c := range cs {
		p = min(p, float64(c.PValue))
	}
	return "", fmt.Sprintf("no significant difference (%s) with %d answers per variant: any difference is likely under %g points",
		pValue(p), have, MinDifference*100), needed
}

func pValue(p float64) string {
	if p < 0.001 {
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", p)
}

func (c *Console) variantTimeline(sp span, now time.Time, route string, variants []config.Variant) VariantTimeline {
	vt := VariantTimeline{StepSeconds: int(sp.step / time.Second), RPS: map[string][]num{}, P95MS: map[string][]num{}}
	for _, v := range variants {
		ts, per := c.timeline(sp, now, func(s *series) bool { return s.route == route && s.variant == v.Name })
		tl := timelineOf(sp, now, c.started, ts, per)
		vt.T, vt.RPS[v.Name], vt.P95MS[v.Name] = tl.T, tl.RPS, tl.P95MS
	}
	if vt.T == nil {
		vt.T = []int64{}
	}
	return vt
}
