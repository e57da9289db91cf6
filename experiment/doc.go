// Package experiment measures how the variants of each route's A/B
// experiment perform and reports whether the difference between them is
// real.
//
// The gateway calls [Store.Record] once per finished request with an
// [Observation]: which route, experiment and variant it took, which provider
// and model answered, whether it failed (and how), its latency, tokens and
// cost, and whether it was a cache hit. The store also remembers, for a
// bounded time (7 days by default), which variant produced each response
// id, so that end users' verdicts sent later through [Store.Feedback] are
// attributed to the right variant. [Store.Snapshot] returns mergeable raw
// counters and [Snapshot.Report] turns them into a [Report].
//
// # What counts where
//
//   - Requests are the requests a variant's model was asked to answer,
//     successful or not. Errors are those that failed, by class (a failed
//     request that a backup provider, a stale cache entry or the degraded
//     answer rescued is an error of the variant all the same).
//   - Cache hits are counted separately and nowhere else: they do not
//     exercise the variant's model, so they are kept out of its requests,
//     latency, tokens, cost and feedback. Feedback on a cached or rescued
//     answer is accepted and remembered but not counted
//     ([Attribution.Counted] is false).
//   - Tokens and cost add up every request of the variant that was not a
//     cache hit, whoever answered it: that is what the variant's traffic
//     cost. Cost per request divides by requests.
//   - Latency percentiles cover successful requests only (a request that
//     timed out after 30 seconds says nothing about the model's speed but
//     would dominate the p95). They come from a fixed histogram of
//     log-spaced buckets (1 ms × 2^(i/8), about 9% wide, up to 60 s, plus an
//     overflow bucket), so replicas merge by adding bucket counters;
//     p50/p95 are interpolated linearly inside their bucket and latencies
//     past 60 s report as 60 s.
//
// # Feedback
//
// A verdict is either binary (success or failure) or a score on the
// application's own scale. A second verdict on the same response replaces
// the first: the last one wins and the response is counted once, in the
// kind of its latest verdict. Feedback for a response id the store never saw,
// or has forgotten, or that another client received, fails with
// [ErrUnknownResponse]: only the client that received an answer, or
// [AnyClient], judges it.
//
// # Statistics
//
// The leader is the variant with the highest binary-feedback success rate
// (ties: more feedback, then name). It is compared with every other variant
// in two ways, both reported:
//
//   - a two-proportion z-test: z = (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)) with
//     the pooled rate p̂ = (s₁ + s₂)/(n₁ + n₂), two-sided p-value
//     erfc(|z|/√2), significant when p < 0.05. It is flagged as a small
//     sample when either side has fewer than 5 successes or 5 failures;
//   - Bayesian: every variant's success rate has the posterior
//     Beta(1 + successes, 1 + failures) (a uniform prior). The probability
//     that a variant is the best of all, and that the leader beats one other
//     variant, are integrals of the posteriors computed by deterministic
//     numerical integration (composite Simpson over ±20 standard deviations
//     of each posterior).
//
// Only binary verdicts enter these statistics; scores are reported as a
// mean.
package experiment
