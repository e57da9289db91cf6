package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/console"
	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/quota/quotagrpc"
	"github.com/careerpath/llmgateway/telemetry"
	ledger "github.com/careerpath/llmgateway/usage"
)

// Options configure the service [New] builds.
type Options struct {
	// Logger receives the service's logs and access lines; nil discards
	// them.
	Logger *slog.Logger
	// Metrics, when set, is where requests, quota and cache are counted.
	Metrics *telemetry.Metrics
	// TraceContent records prompts and answers on the RPC spans.
	TraceContent bool
	// Experiments stores A/B experiment observations and feedback; nil
	// keeps them in memory.
	Experiments experiment.Store
	// Cache stores answers; nil keeps them in memory (64 MiB).
	Cache cache.Store
	// Quota stores quota and budget counters; nil keeps them in memory.
	Quota quota.Store
	// QuotaFailClosed refuses requests when the quota store cannot be
	// reached; by default the gateway keeps serving with local limits.
	QuotaFailClosed bool
	// BudgetWebhook, when set, receives a JSON POST for every budget that
	// crosses 80% or 100% of its limit.
	BudgetWebhook string
	// Usage stores the usage and cost ledger; nil keeps it in memory.
	Usage ledger.Store
	// UsageObserver, when set, is told of every ledger entry recorded and
	// every one that failed.
	UsageObserver ledger.Observer
	// Console, when set, is fed every finished generation call, refused
	// ones included.
	Console *console.Console
}

// New returns the service answering from rt, with its quota limiter,
// ledger, answer cache and experiment recorder. The closers are the stores
// it made itself, for the caller to close once the service has stopped.
func New(rt *Runtime, opts Options) (*Service, []io.Closer) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := NewService(rt)
	s.log, s.metrics, s.content, s.console = log, opts.Metrics, opts.TraceContent, opts.Console
	var owned []io.Closer
	policy := quota.FailOpen
	if opts.QuotaFailClosed {
		policy = quota.FailClosed
	}
	s.limiter = quota.New(rt.Config.RateLimits, quota.Options{Store: opts.Quota, OnStoreFailure: policy,
		Observer: quotaObserver{log: log, metrics: opts.Metrics, webhook: opts.BudgetWebhook,
			client: &http.Client{Timeout: 5 * time.Second}}})
	if opts.Usage == nil {
		opts.Usage = ledger.NewMemoryStore(ledger.MemoryOptions{})
	}
	s.ledger = newLedger(opts.Usage, opts.UsageObserver, log)
	if opts.Cache == nil {
		mo := cache.MemoryOptions{}
		if opts.Metrics != nil {
			mo.Observer = opts.Metrics.CacheObserver()
		}
		mem := cache.NewMemoryStore(mo)
		opts.Cache = mem
		owned = append(owned, mem)
	}
	s.cache = opts.Cache
	if opts.Experiments == nil {
		opts.Experiments = experiment.NewMemoryStore(experiment.MemoryOptions{})
	}
	s.experiments = NewExperimentService(opts.Experiments, ExperimentOptions{
		Logger: log, KnownRoute: s.HasRoute, ExperimentID: s.experimentID})
	// Every outcome settles the quota, is written to the ledger, is
	// recorded in its experiment and reaches the call's observer;
	// [Service.Subscribe] adds more.
	s.fanout.Store(&[]Subscriber{quotaSettler{log: log}, s.ledger, s.experiments, observed{}})
	return s, owned
}

// CloseRecorders writes what the ledger and the experiment recorder still
// hold queued and stops their writers; call it once no call runs.
func (s *Service) CloseRecorders() {
	s.ledger.Close()
	s.experiments.Close()
}

// ObserverInterceptors are the chain's "logging" link: once per call,
// refused ones included, the access line, the request metrics, the GenAI
// attributes of the RPC's span and the console's window. Health checks are left out.
func (s *Service) ObserverInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	obs := &observer{log: s.log, metrics: s.metrics, knownRoute: s.HasRoute, content: s.content, console: s.console}
	notHealth := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != grpc_health_v1.Health_ServiceDesc.ServiceName
	})
	return selector.UnaryServerInterceptor(obs.unary, notHealth), selector.StreamServerInterceptor(obs.stream, notHealth)
}

// QuotaInterceptors are the chain's "quota" link, with the service's
// limiter (see [quotagrpc.Interceptors]).
func (s *Service) QuotaInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	return quotagrpc.Interceptors(s.limiter, quotagrpc.Options{FallbackVariant: s.budgetFallbackVariant, Logger: s.log})
}
