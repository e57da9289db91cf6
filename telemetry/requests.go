package telemetry

import (
	"context"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/careerpath/llmgateway/resilience"
)

// LatencyBuckets are the bounds, in seconds, of every latency histogram:
// fine below a second, where the gateway's own work and cache hits fall,
// and up to 60 s, where long generations end, so that p50, p95 and p99 are
// meaningful across the whole range.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 45, 60}

// TokenBuckets are the bounds of the token usage histogram, the ones the
// OpenTelemetry GenAI conventions advise (powers of 4 from 1 to 4^13).
var TokenBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}

// The gen_ai.operation.name values of the calls the gateway serves and
// makes: chat completions (Complete, Stream and the compatible chat APIs)
// and embeddings.
const (
	OperationChat       = "chat"
	OperationEmbeddings = "embeddings"
)

// requestMetrics are the per-request and per-attempt metrics.
type requestMetrics struct {
	clientDuration *prometheus.HistogramVec
	tokens         *prometheus.HistogramVec
	serverDuration *prometheus.HistogramVec
	ttft           *prometheus.HistogramVec
	requests       *prometheus.CounterVec
	providerErrors *prometheus.CounterVec
	overhead       *prometheus.HistogramVec
	cost           *prometheus.CounterVec
	savings        *prometheus.CounterVec
	grpc           *grpcprom.ServerMetrics
}

func newRequestMetrics(reg prometheus.Registerer) *requestMetrics {
	m := &requestMetrics{}
	m.clientDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_operation_duration_seconds",
		Help:    "Duration of each call to a provider (every retry, backup, hedge); error_type is the failure class, empty on success. A stream's call lasts until its last token.",
		Buckets: LatencyBuckets,
	}, []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"})
	m.tokens = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_token_usage",
		Help:    "Tokens used per answer produced by a provider, by token type (input, output).",
		Buckets: TokenBuckets,
	}, []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"})
	m.serverDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_request_duration_seconds",
		Help:    "Duration of each Complete or Stream request as the gateway served it; error_type is the gRPC code, empty on success.",
		Buckets: LatencyBuckets,
	}, []string{"gen_ai_operation_name", "route", "error_type"})
	m.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_time_to_first_token_seconds",
		Help:    "Time from a stream's start to its first token reaching the caller.",
		Buckets: LatencyBuckets,
	}, []string{"gen_ai_operation_name", "route"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_requests_total",
		Help: "Requests by RPC, route, variant, provider that answered (or was chosen, for a failed request) and gRPC status.",
	}, []string{"rpc", "route", "variant", "provider", "status"})
	m.providerErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_provider_errors_total",
		Help: "Failed calls to a provider by failure class (rate_limited, overloaded, server_error, timeout, unavailable, …), retried or not.",
	}, []string{"provider", "class"})
	m.overhead = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "llmgateway_gateway_overhead_seconds",
		Help:    "Time the gateway added to an answered request: total time minus time spent waiting on providers.",
		Buckets: LatencyBuckets,
	}, []string{"rpc"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_cost_usd_total",
		Help: "Spend in US dollars at the configured prices, by provider, model and route.",
	}, []string{"provider", "model", "route"})
	m.savings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmgateway_cache_savings_usd_total",
		Help: "What the answers served from the cache would have cost, in US dollars, by route.",
	}, []string{"route"})
	m.grpc = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(LatencyBuckets)))
	reg.MustRegister(m.clientDuration, m.tokens, m.serverDuration, m.ttft, m.requests, m.providerErrors,
		m.overhead, m.cost, m.savings, m.grpc)
	return m
}

// Request is what the gateway observed about one finished RPC. Every
// string is a bounded name (an RPC, a configured route, variant, provider
// or model, a gRPC code), never a caller's input.
type Request struct {
	// RPC is the method's name: Complete, Stream, Feedback, ….
	RPC string
	// Route and Variant are the routing decision's, empty when there was
	// none.
	Route, Variant string
	// Provider and Model are the configured provider and model that
	// answered, or that routing chose for a request that failed.
	Provider, Model string
	// Status is the gRPC code's name (OK, RESOURCE_EXHAUSTED, …).
	Status string
	// Generation is set for Complete, Stream and Embed, the calls the
	// GenAI metrics describe.
	Generation bool
	// Operation is the GenAI operation, [OperationChat] when empty.
	Operation string
	// Duration is the whole call; Overhead, when Answered, the part not
	// spent waiting on providers; TTFT, for a stream that sent a token, the
	// time to it.
	Duration, Overhead, TTFT time.Duration
	// Answered is set when the request got an answer.
	Answered bool
	// Fresh is set when a provider produced the answer now: its tokens and
	// cost are counted.
	Fresh bool
	// InputTokens and OutputTokens are the answer's usage.
	InputTokens, OutputTokens int64
	// CostUSD is what the answer cost; SavedUSD what an answer served from
	// the cache would have cost.
	CostUSD, SavedUSD float64
}

// ObserveRequest counts one finished RPC.
func (m *Metrics) ObserveRequest(r *Request) {
	q := m.req
	q.requests.WithLabelValues(r.RPC, r.Route, r.Variant, r.Provider, r.Status).Inc()
	if r.Answered {
		q.overhead.WithLabelValues(r.RPC).Observe(r.Overhead.Seconds())
	}
	if !r.Generation {
		return
	}
	errType := ""
	if r.Status != "OK" {
		errType = r.Status
	}
	op := r.Operation
	if op == "" {
		op = OperationChat
	}
	q.serverDuration.WithLabelValues(op, r.Route, errType).Observe(r.Duration.Seconds())
	if r.TTFT > 0 {
		q.ttft.WithLabelValues(op, r.Route).Observe(r.TTFT.Seconds())
	}
	if r.Fresh && r.Provider != "" {
		q.tokens.WithLabelValues(op, r.Provider, r.Model, "input").Observe(float64(r.InputTokens))
		if op == OperationChat {
			q.tokens.WithLabelValues(op, r.Provider, r.Model, "output").Observe(float64(r.OutputTokens))
		}
		if r.CostUSD > 0 {
			q.cost.WithLabelValues(r.Provider, r.Model, r.Route).Add(r.CostUSD)
		}
	}
	if r.SavedUSD > 0 {
		q.savings.WithLabelValues(r.Route).Add(r.SavedUSD)
	}
}

// Attempt implements resilience.AttemptObserver: one call to a provider,
// with its failure class ("" when it succeeded).
func (m *Metrics) Attempt(t resilience.Target, d time.Duration, errClass string) {
	m.req.clientDuration.WithLabelValues(OperationChat, t.Provider, t.Model, errClass).Observe(d.Seconds())
	if errClass != "" && errClass != "canceled" { // a caller or a hedge gave up: not the provider's failure
		m.req.providerErrors.WithLabelValues(t.Provider, errClass).Inc()
	}
}

var _ resilience.AttemptObserver = (*Metrics)(nil)

// GRPCServer is go-grpc-middleware's gRPC server metrics
// (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, …), registered with the others.
func (m *Metrics) GRPCServer() *grpcprom.ServerMetrics { return m.req.grpc }

// RedisUp exports llmgateway_redis_up{store} for each named store kept in
// one Redis deployment: 1 when ping succeeds at scrape time, else 0. Call
// it only when Redis is configured; ping should be quick (it is given a
// one-second deadline).
func (m *Metrics) RedisUp(ping func(context.Context) error, stores ...string) {
	m.reg.MustRegister(&redisUp{ping: ping, stores: stores})
}

var redisUpDesc = prometheus.NewDesc("llmgateway_redis_up",
	"Whether Redis answered a ping at scrape time (1) or not (0), by the state kept there.", []string{"store"}, nil)

// redisUp pings once per scrape, however many stores share the server.
type redisUp struct {
	ping   func(context.Context) error
	stores []string
	mu     sync.Mutex
}

func (r *redisUp) Describe(ch chan<- *prometheus.Desc) { ch <- redisUpDesc }

func (r *redisUp) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	up := 0.0
	if r.ping(ctx) == nil {
		up = 1
	}
	for _, s := range r.stores {
		ch <- prometheus.MustNewConstMetric(redisUpDesc, prometheus.GaugeValue, up, s)
	}
}
