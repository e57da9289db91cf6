package experiment

import (
	"cmp"
	"slices"
	"time"
)

// Snapshot is the raw counters of one experiment, as a store holds them.
type Snapshot struct {
	// Experiment is the experiment's id.
	Experiment string
	// Route is the route the experiment runs on (empty when nothing was
	// recorded).
	Route string
	// Variants are the counters of every variant seen, sorted by name.
	Variants []Counters
}

// Counters are one variant's raw, mergeable counters. See the package
// documentation for what counts where.
type Counters struct {
	// Variant is the variant's name.
	Variant string
	// Requests counts requests that were not cache hits; Errors those of
	// them that failed, also by class in ErrorsByClass.
	Requests, Errors int64
	// ErrorsByClass counts errors by class.
	ErrorsByClass map[string]int64
	// CacheHits counts cache hits.
	CacheHits int64
	// Models counts requests (not cache hits) by "provider/model".
	Models map[string]int64
	// InputTokens, OutputTokens and CostUSD add up requests that were not
	// cache hits.
	InputTokens, OutputTokens int64
	// CostUSD is the total cost in US dollars.
	CostUSD float64
	// Latency is the histogram of successful requests' latencies.
	Latency Histogram
	// Successes and Failures count responses whose latest verdict is
	// binary; Scores and ScoreSum those whose latest verdict is a score.
	Successes, Failures, Scores int64
	// ScoreSum is the sum of the latest scores.
	ScoreSum float64
}

// Report is the analysed state of one experiment.
type Report struct {
	// Experiment and Route identify the experiment.
	Experiment, Route string
	// Variants are every variant's statistics, sorted by name.
	Variants []VariantReport
	// Leader is the variant with the highest binary-feedback success rate
	// (ties: more binary feedback, then name); empty when no variant has
	// binary feedback.
	Leader string
	// Comparisons test the leader against every other variant, in the
	// order of Variants.
	Comparisons []Comparison
}

// VariantReport is one variant's statistics.
type VariantReport struct {
	// Variant is the variant's name.
	Variant string
	// Requests, Errors, ErrorsByClass, CacheHits and Models are the
	// counters of the same names.
	Requests, Errors int64
	// ErrorsByClass counts errors by class.
	ErrorsByClass map[string]int64
	// CacheHits counts cache hits.
	CacheHits int64
	// Models counts requests by "provider/model".
	Models map[string]int64
	// FeedbackCount counts responses with a verdict, each once.
	FeedbackCount int64
	// Successes and Failures count binary verdicts.
	Successes, Failures int64
	// SuccessRate is Successes / (Successes + Failures), 0 without any.
	SuccessRate float64
	// ScoreCount counts scores; MeanScore is their mean, 0 without any.
	ScoreCount int64
	// MeanScore is the mean score.
	MeanScore float64
	// CostUSD is the total cost; CostPerRequestUSD divides it by Requests.
	CostUSD, CostPerRequestUSD float64
	// LatencyP50 and LatencyP95 are interpolated from the histogram of
	// successful requests.
	LatencyP50, LatencyP95 time.Duration
	// InputTokens and OutputTokens are token totals.
	InputTokens, OutputTokens int64
	// ProbabilityToBeBest is the posterior probability that this
	// variant's success rate is the highest of all variants.
	ProbabilityToBeBest float64
}

// Comparison tests the leader's success rate against another variant's.
type Comparison struct {
	// Leader and Variant are the two variants compared.
	Leader, Variant string
	// Z and PValue are the two-proportion z-test of Leader against Variant
	// (see [ZTest]); Significant is PValue < [Alpha].
	Z, PValue float64
	// Significant is PValue < Alpha.
	Significant bool
	// ProbabilityLeaderBetter is the posterior probability that the
	// leader's success rate is higher than the variant's.
	ProbabilityLeaderBetter float64
	// SmallSample is true when either side has fewer than 5 successes or 5
	// failures, where the z-test's normal approximation is unreliable.
	SmallSample bool
}

// minCell is the smallest count of successes and of failures per side for
// which the z-test's normal approximation is considered reliable.
const minCell = 5

// Report analyses the snapshot.
func (s *Snapshot) Report() *Report {
	r := &Report{Experiment: s.Experiment, Route: s.Route}
	vs := slices.Clone(s.Variants)
	slices.SortFunc(vs, func(a, b Counters) int { return cmp.Compare(a.Variant, b.Variant) })
	posts := make([]Beta, len(vs))
	leader := -1
	for i := range vs {
		c := &vs[i]
		v := VariantReport{
			Variant:       c.Variant,
			Requests:      c.Requests,
			Errors:        c.Errors,
			ErrorsByClass: c.ErrorsByClass,
			CacheHits:     c.CacheHits,
			Models:        c.Models,
			FeedbackCount: c.Successes + c.Failures + c.Scores,
			Successes:     c.Successes,
			Failures:      c.Failures,
			ScoreCount:    c.Scores,
			CostUSD:       c.CostUSD,
			LatencyP50:    c.Latency.Quantile(0.50),
			LatencyP95:    c.Latency.Quantile(0.95),
			InputTokens:   c.InputTokens,
			OutputTokens:  c.OutputTokens,
		}
		if n := c.Successes + c.Failures; n > 0 {
			v.SuccessRate = float64(c.Successes) / float64(n)
			if leader < 0 || better(c, &vs[leader]) {
				leader = i
			}
		}
		if c.Scores > 0 {
			v.MeanScore = c.ScoreSum / float64(c.Scores)
		}
		if c.Requests > 0 {
			v.CostPerRequestUSD = c.CostUSD / float64(c.Requests)
		}
		posts[i] = Posterior(c.Successes, c.Failures)
		r.Variants = append(r.Variants, v)
	}
	if len(vs) > 0 {
		for i, p := range ProbabilityToBeBest(posts) {
			r.Variants[i].ProbabilityToBeBest = p
		}
	}
	if leader < 0 {
		return r
	}
	l := &vs[leader]
	r.Leader = l.Variant
	for i := range vs {
		if i == leader {
			continue
		}
		o := &vs[i]
		z, p := ZTest(l.Successes, l.Successes+l.Failures, o.Successes, o.Successes+o.Failures)
		r.Comparisons = append(r.Comparisons, Comparison{
			Leader:                  l.Variant,
			Variant:                 o.Variant,
			Z:                       z,
			PValue:                  p,
			Significant:             p < Alpha,
			ProbabilityLeaderBetter: ProbabilityGreater(posts[leader], posts[i]),
			SmallSample:             min(l.Successes, l.Failures, o.Successes, o.Failures) < minCell,
		})
	}
	return r
}

// better reports whether a leads b: a higher success rate, then more
// binary feedback (the name order breaks the remaining ties, since the
// variants are visited sorted).
func better(a, b *Counters) bool {
	na, nb := a.Successes+a.Failures, b.Successes+b.Failures
	// Division is correctly rounded, so equal fractions compare equal.
	ra, rb := float64(a.Successes)/float64(na), float64(b.Successes)/float64(nb)
	if ra != rb {
		return ra > rb
	}
	return na > nb
}
