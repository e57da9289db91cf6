// Package resilience guards provider calls with failsafe-go policies and
// runs the gateway's failover chain.
//
// Every provider instance gets one [Guard], built once per configuration
// and shared by every route that uses the provider: a retry policy
// (exponential backoff with jitter, Retry-After honoured when it fits in
// the caller's deadline), a failure-rate circuit breaker, a bulkhead that
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
package resilience
