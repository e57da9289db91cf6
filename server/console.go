package server

import (
	"net/http"
	"sort"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/console"
	"github.com/careerpath/llmgateway/telemetry"
	ledger "github.com/careerpath/llmgateway/usage"
)

// toConsole hands a finished generation call to the console's window.
func (o *observer) toConsole(ob *observation, rec *callRecord, a *answer, code codes.Code, took time.Duration) {
	if o.console == nil || ob.req == nil {
		return
	}
	out := console.Outcome{Time: ob.start.Add(took), RPC: ob.rpc, Route: rec.route, Variant: rec.variant,
		Provider: rec.provider, Model: rec.model, Client: rec.client, Code: code, Cache: cacheStatus(rec, a),
		Latency: took}
	if a.ok {
		out.Step, out.TTFT, out.FailedAttempts = a.step, a.ttft, a.failed
		out.InputTokens, out.OutputTokens = int64(a.usage.GetInputTokens()), int64(a.usage.GetOutputTokens())
		out.CostNanos = int64(ledger.FromUSD(a.cost))
	}
	o.console.Record(out)
}

// consoleSources are what the console reads from the server.
func (s *Server) consoleSources() console.Sources {
	return console.Sources{
		Usage:       s.service.ledger.store,
		Experiments: s.service.experiments.store,
		Config:      func() *config.Config { return s.service.Runtime().Config },
		Reload:      func() any { return s.reload.Status() },
		Breakers: func() []console.Breaker {
			var out []console.Breaker
			for name, g := range s.service.Runtime().Resilience.Guards() {
				m := g.BreakerMetrics()
				out = append(out, console.Breaker{Provider: name, State: telemetry.BreakerStateName(g.BreakerState()),
					FailureRate: m.FailureRate(), Executions: m.Executions()})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
			return out
		},
	}
}

// guardAdmin puts the admin port behind the admin token (loopback only
// without one), the console mounted; health, readiness and metrics stay
// open.
func (s *Server) guardAdmin(mux *http.ServeMux) http.Handler {
	if s.opts.Console != nil {
		mux.Handle(console.Path, s.opts.Console.Handler(s.consoleSources()))
	}
	open := func(path string) bool { return path == "/healthz" || path == "/readyz" || path == "/metrics" }
	return console.Guard(s.opts.AdminToken, open, mux)
}

// noteReload tells the console of a reload attempt.
func (s *Server) noteReload(cfg *config.Config, live, reason string, err error) {
	if s.opts.Console == nil {
		return
	}
	if err != nil {
		s.opts.Console.ConfigRefused(live, reason, err, time.Now())
		return
	}
	s.opts.Console.ConfigApplied(cfg, reason, time.Now())
}
