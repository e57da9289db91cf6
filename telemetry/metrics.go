// Package telemetry holds the gateway's Prometheus metrics.
//
// The gateway uses prometheus/client_golang directly, on its own registry
// served at the admin port's /metrics, with go-grpc-middleware's
// Prometheus provider for the standard grpc_server_* metrics, rather than
// OpenTelemetry's metric API behind its Prometheus exporter: it is the
// fastest way to count on the request path (no attribute sets allocated
// per observation, no SDK aggregation pipeline between the counter and the
// scrape), it is the format operators scrape, and go-grpc-middleware's
// provider already speaks it. The OpenTelemetry GenAI semantic conventions
// are kept in the names: gen_ai.client.operation.duration becomes
// gen_ai_client_operation_duration_seconds, with its attributes as labels
// (gen_ai_provider_name, gen_ai_request_model, error_type, …), as the
// OpenTelemetry Prometheus exporter would name them. Traces, which are
// OpenTelemetry's, are set up by the gateway's main package.
//
// Labels are bounded: RPC, provider, model, route, variant, step and
// status names from configuration or gRPC, never a user id, key or prompt.
// Latency histograms share [LatencyBuckets] (5 ms to 60 s), so that p50,
// p95 and p99 are meaningful up to a minute.
package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/resilience"
)

// Metrics is the gateway's metric set.
type Metrics struct {
	reg *prometheus.Registry

	retries      *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
	fallbacks    *prometheus.CounterVec
	hedges       *prometheus.CounterVec
	mismatches   *prometheus.CounterVec
	cooldowns    *prometheus.CounterVec
	cooldownEnd  *prometheus.GaugeVec

	cacheLookups   *prometheus.CounterVec
	cacheEvictions prometheus.Counter
	cacheErrors    *prometheus.CounterVec
	cacheStored    prometheus.Counter

	quotaRejections *prometheus.CounterVec
	budgetEvents    *prometheus.CounterVec
	quotaStoreErrs  *prometheus.CounterVec

	configReloads  *prometheus.CounterVec
	configInfo     *prometheus.GaugeVec
	configLoadedAt prometheus.Gauge

	req *requestMetrics
}

// NewMetrics registers the gateway's metrics, plus the Go runtime and
// process collectors, on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_provider_retries_total",
		Help: "Retries scheduled against a provider after a retryable failure.",
	}, []string{"provider"})
	m.breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "llmgateway_circuit_breaker_state",
		Help: "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.",
	}, []string{"provider"})
	m.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_fallbacks_total",
		Help: "Times a route's failover chain moved on to a step (backup, stale_cache, degraded).",
	}, []string{"route", "step"})
	m.hedges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_hedges_total",
		Help: "Hedged attempts sent to a backup because the provider was slow (result=sent), and those whose answer won (result=won).",
	}, []string{"provider", "result"})
	m.mismatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_schema_mismatches_total",
		Help: "Answers that were not valid JSON or did not match the request's JSON Schema (or a tool call's arguments their tool's), by route and provider.",
	}, []string{"route", "provider"})
	m.cooldowns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_provider_cooldowns_total",
		Help: "Provider cooldowns: started when a provider answered 429 with a Retry-After (event=started), and calls that skipped a cooled-down provider (event=skipped).",
	}, []string{"provider", "event"})
	m.cooldownEnd = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "llmgateway_provider_cooldown_until_timestamp_seconds",
		Help: "When the provider's latest known cooldown ends, as a Unix time; in the past when it is not cooled down.",
	}, []string{"provider"})
	m.configReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_config_reloads_total",
		Help: "Configuration reloads by result: ok, unchanged, failed (refused; the last good configuration stays live).",
	}, []string{"result"})
	m.configInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "llmgateway_config_info",
		Help: "The active configuration: 1 for its version (content hash).",
	}, []string{"version"})
	m.configLoadedAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "llmgateway_config_loaded_timestamp_seconds",
		Help: "When the active configuration was loaded, as a Unix time.",
	})
	m.cacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_cache_lookups_total",
		Help: "Answer cache lookups by result: hit (fresh), stale (past its TTL, kept for stale-if-error), miss.",
	}, []string{"result"})
	m.cacheEvictions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmgateway_cache_evictions_total",
		Help: "Answers evicted from the in-memory cache to stay within its size.",
	})
	m.cacheErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_cache_errors_total",
		Help: "Answer cache store failures by operation (get, set, delete); a failed get is served as a miss.",
	}, []string{"op"})
	m.cacheStored = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmgateway_cache_stores_total",
		Help: "Answers stored in the cache.",
	})
	m.quotaRejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_quota_rejections_total",
		Help: "Requests refused by a rate_limits.json limit, by limit and the config field that was exhausted (requests_per_minute, tokens_per_minute, concurrent_streams, usd_per_day, usd_per_month).",
	}, []string{"limit", "kind"})
	m.budgetEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_budget_threshold_crossings_total",
		Help: "USD budgets crossing 80% (threshold=0.8) or 100% (threshold=1) of their limit in their day or month.",
	}, []string{"limit", "kind", "threshold"})
	m.quotaStoreErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_quota_store_errors_total",
		Help: "Quota store failures; fell_back=true when a fail-open limiter answered from local memory.",
	}, []string{"fell_back"})
	m.reg.MustRegister(m.quotaRejections, m.budgetEvents, m.quotaStoreErrs)
	m.reg.MustRegister(m.retries, m.breakerState, m.fallbacks, m.hedges, m.mismatches, m.cooldowns, m.cooldownEnd, m.configReloads, m.configInfo, m.configLoadedAt,
		m.cacheLookups, m.cacheEvictions, m.cacheErrors, m.cacheStored)
	m.req = newRequestMetrics(m.reg)
	return m
}

// ConfigActive records the configuration now serving.
func (m *Metrics) ConfigActive(version string, loadedAt time.Time) {
	m.configInfo.Reset()
	m.configInfo.WithLabelValues(version).Set(1)
	m.configLoadedAt.Set(float64(loadedAt.UnixNano()) / 1e9)
}

// ConfigReload counts a reload attempt by result: "ok", "unchanged" or
// "failed".
func (m *Metrics) ConfigReload(result string) { m.configReloads.WithLabelValues(result).Inc() }

// Registry is where further metrics register.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Retry implements resilience.Observer.
func (m *Metrics) Retry(provider string) { m.retries.WithLabelValues(provider).Inc() }

// BreakerState implements resilience.Observer.
func (m *Metrics) BreakerState(provider string, s circuitbreaker.State) {
	m.breakerState.WithLabelValues(provider).Set(BreakerStateValue(s))
}

// Fallback implements resilience.Observer.
func (m *Metrics) Fallback(route string, step resilience.Step) {
	m.fallbacks.WithLabelValues(route, step.String()).Inc()
}

// Cooldown implements resilience.Observer.
func (m *Metrics) Cooldown(provider string, left time.Duration, skipped bool) {
	event := "started"
	if skipped {
		event = "skipped"
	}
	m.cooldowns.WithLabelValues(provider, event).Inc()
	m.cooldownEnd.WithLabelValues(provider).Set(float64(time.Now().Add(left).UnixMilli()) / 1000)
}

// Hedge implements resilience.Observer.
func (m *Metrics) Hedge(provider string, won bool) {
	result := "sent"
	if won {
		result = "won"
	}
	m.hedges.WithLabelValues(provider, result).Inc()
}

// SchemaMismatch implements resilience.SchemaObserver.
func (m *Metrics) SchemaMismatch(route, provider string) {
	m.mismatches.WithLabelValues(route, provider).Inc()
}

var _ resilience.SchemaObserver = (*Metrics)(nil)

// BreakerStateValue is the gauge value of a breaker state.
func BreakerStateValue(s circuitbreaker.State) float64 {
	switch s {
	case circuitbreaker.HalfOpenState:
		return 1
	case circuitbreaker.OpenState:
		return 2
	}
	return 0
}

// BreakerStateName is the lower-case name of a breaker state.
func BreakerStateName(s circuitbreaker.State) string {
	switch s {
	case circuitbreaker.HalfOpenState:
		return "half_open"
	case circuitbreaker.OpenState:
		return "open"
	}
	return "closed"
}

var _ resilience.Observer = (*Metrics)(nil)

// CacheObserver returns the cache.Observer that counts into m.
func (m *Metrics) CacheObserver() cache.Observer { return cacheObserver{m} }

type cacheObserver struct{ m *Metrics }

func (o cacheObserver) Hit()      { o.m.cacheLookups.WithLabelValues("hit").Inc() }
func (o cacheObserver) StaleHit() { o.m.cacheLookups.WithLabelValues("stale").Inc() }
func (o cacheObserver) Miss()     { o.m.cacheLookups.WithLabelValues("miss").Inc() }
func (o cacheObserver) Set(int)   { o.m.cacheStored.Inc() }
func (o cacheObserver) Evict()    { o.m.cacheEvictions.Inc() }
func (o cacheObserver) Error(op cache.Op, _ error) {
	o.m.cacheErrors.WithLabelValues(string(op)).Inc()
}

var _ cache.Observer = cacheObserver{}

// QuotaRejected counts a refused request.
func (m *Metrics) QuotaRejected(limit, kind string) {
	m.quotaRejections.WithLabelValues(limit, kind).Inc()
}

// BudgetCrossed counts a budget crossing a threshold.
func (m *Metrics) BudgetCrossed(limit, kind string, threshold float64) {
	m.budgetEvents.WithLabelValues(limit, kind, strconv.FormatFloat(threshold, 'f', -1, 64)).Inc()
}

// QuotaStoreError counts a quota store failure.
func (m *Metrics) QuotaStoreError(fellBack bool) {
	m.quotaStoreErrs.WithLabelValues(strconv.FormatBool(fellBack)).Inc()
}
