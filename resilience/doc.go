// Package resilience guards provider calls with failsafe-go policies and
// runs the gateway's failover chain.
//
// Every provider instance gets one [Guard], built once per configuration
// and shared by every route that uses the provider: a retry policy
// (exponential backoff with jitter, Retry-After honoured when it is within
// the provider's max_retry_after and the caller's deadline, never slept
// out otherwise), a failure-rate circuit breaker, a bulkhead that
// caps calls and open streams in flight, and a per-attempt timeout,
// composed in failsafe-go's documented order, with the bulkhead outside the
// breaker so that a call refused for want of a slot is not counted as an
// observation of the provider's health:
//
//	Retry(Bulkhead(CircuitBreaker(Timeout(call))))
//
// Streams take their concurrency permit once and hold it until they close,
// and report one outcome per stream to the breaker when they end.
//
// Every route variant gets one [Chain], also built once per configuration:
// the A/B-selected primary, then each backup provider in order (each under
// its own guard), then a cached answer even past its time-to-live
// (stale-if-error), then the route's degraded answer, as failsafe-go
// fallbacks:
//
//	Fallback(degraded, Fallback(stale, Fallback(backupN, … Fallback(backup1, [Hedge](primary)))))
//
// A failure that another provider cannot fix (a bad request, a prompt too
// long, the caller giving up) is returned at once, never failed over.
//
// A provider that answers 429 with a Retry-After is cooled down for that
// long in a cooldown store (package cooldown) that outlives configurations
// and may be shared by replicas: every guard call skips it until then, so
// the chain moves on at once instead of waiting. Each run of a chain is bounded by
// its route's timeout (see [WithTimeout] and [DefaultRouteTimeout]) when
// the caller's deadline is later or absent.
//
// A new configuration's set may adopt the state of the one it replaces
// ([Adopting]): a provider whose settings did not change keeps its
// breaker, bulkhead and hedge policy (with its latency estimate), so that a
// reload neither reopens the gates of a failing provider nor forgets what
// it learnt.
package resilience
