package gateway

import (
	"sort"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/console"
	"github.com/careerpath/llmgateway/telemetry"
)

// toConsole hands a finished generation or Embed call to the console's
// window.
// The observer feeds it rather than the outcome fan-out because the
// console counts calls the service never took on too (refused by auth,
// validation or quota).
func (o *observer) toConsole(ob *observation, l *labels, code codes.Code, took time.Duration) {
	if o.console == nil || (ob.req == nil && ob.embed == nil) {
		return
	}
	out := console.Outcome{Time: ob.start.Add(took), RPC: ob.rpc, Route: l.route, Variant: l.variant,
		Provider: l.provider, Model: l.model, Client: ob.client, Code: code, Cache: ob.cache(),
		Latency: took}
	if a := ob.answered(); a != nil {
		out.Step, out.TTFT, out.FailedAttempts = stepName(a.Step), a.TTFT, len(a.Attempts)
		out.InputTokens, out.OutputTokens = a.Usage.InputTokens, a.Usage.OutputTokens
		out.CostNanos = int64(a.Cost)
	}
	o.console.Record(out)
}

// ConsoleSources are what the console reads from the service: the usage
// and experiment stores it writes, the live configuration, r's last
// reload and the providers' breakers.
func (s *Service) ConsoleSources(r *Reloader) console.Sources {
	src := console.Sources{
		Config: func() *config.Config { return s.Runtime().Config },
		Reload: func() any { return r.Status() },
		Breakers: func() []console.Breaker {
			var out []console.Breaker
			for name, g := range s.Runtime().Resilience.Guards() {
				m := g.BreakerMetrics()
				out = append(out, console.Breaker{Provider: name, State: telemetry.BreakerStateName(g.BreakerState()),
					FailureRate: m.FailureRate(), Executions: m.Executions()})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
			return out
		},
	}
	if s.ledger != nil {
		src.Usage = s.ledger.store
	}
	if s.experiments != nil {
		src.Experiments = s.experiments.store
	}
	return src
}
