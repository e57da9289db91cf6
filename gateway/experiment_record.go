package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/experiment"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
)

// RecordComplete records a finished Complete call: d is the routing
// decision (nothing is recorded for a model override or a request that
// was not routed), resp the answer or nil, err the failure, latency the
// whole call's. The observation is queued; Feedback on this replica waits
// for it, so that feedback sent the moment the caller has the answer
// finds its attribution.
func (e *ExperimentService) RecordComplete(ctx context.Context, d *routing.Decision, resp *gatewayv1.CompleteResponse, err error, latency time.Duration) {
	if e == nil || d == nil || d.Route == "" {
		return
	}
	o := e.observation(d, clientOf(ctx), err, latency)
	if err == nil && resp != nil {
		answered(&o, resp.GetId(), resp.GetProvider(), resp.GetModel(), resp.GetUsage(), resp.GetCostUsd(),
			resp.GetServedFrom(), resp.GetStep(), primaryFailure(resp.GetFailedAttempts()))
	}
	e.record(ctx, o)
}

// RecordStream records a finished Stream call, like [ExperimentService.RecordComplete]
// with the stream's final message (nil when the stream failed).
func (e *ExperimentService) RecordStream(ctx context.Context, d *routing.Decision, final *gatewayv1.StreamResponse, err error, latency time.Duration) {
	if e == nil || d == nil || d.Route == "" {
		return
	}
	o := e.observation(d, clientOf(ctx), err, latency)
	if err == nil && final != nil {
		answered(&o, final.GetId(), final.GetProvider(), final.GetModel(), final.GetUsage(), final.GetCostUsd(),
			final.GetServedFrom(), final.GetStep(), primaryFailure(final.GetFailedAttempts()))
	}
	e.record(ctx, o)
}

// clientOf is the configured name of ctx's authenticated client, "" when
// there is none.
func clientOf(ctx context.Context) string {
	if c, ok := auth.FromContext(ctx); ok {
		return c.Name
	}
	return ""
}

// observation starts the observation of a request routed by d, made by
// the named client (whose feedback on the answer alone counts).
func (e *ExperimentService) observation(d *routing.Decision, client string, err error, latency time.Duration) experiment.Observation {
	o := experiment.Observation{
		Route: d.Route, Experiment: decisionExperiment(e, d), Variant: d.Variant,
		Model: d.Model, Latency: latency, Client: client,
	}
	if d.Provider != nil {
		o.Provider = d.Provider.Name()
	}
	if err != nil {
		o.ErrorClass = errorClass(err)
	}
	return o
}

// answered fills in what the answer says: who answered, what it cost, and
// whether the variant's own model produced it. A cache hit is counted
// apart; an answer rescued by a backup, a stale cache entry or the
// degraded answer is an error of the variant, classed by its primary's
// first failure.
func answered(o *experiment.Observation, id, provider, model string, u *gatewayv1.Usage, cost float64,
	served gatewayv1.ServedFrom, step gatewayv1.FailoverStep, primaryKind string,
) {
	o.ResponseID = id
	if provider != "" {
		o.Provider, o.Model = provider, model
	}
	o.InputTokens, o.OutputTokens = int64(u.GetInputTokens()), int64(u.GetOutputTokens())
	o.CostUSD = cost
	switch {
	case served == gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT || step == gatewayv1.FailoverStep_FAILOVER_STEP_CACHE:
		o.CacheHit = true
	case served == gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE || served == gatewayv1.ServedFrom_SERVED_FROM_DEGRADED ||
		step == gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP || step == gatewayv1.FailoverStep_FAILOVER_STEP_STALE_CACHE ||
		step == gatewayv1.FailoverStep_FAILOVER_STEP_DEGRADED:
		o.ErrorClass = "fallback"
		if primaryKind != "" {
			o.ErrorClass = providers.KindUnknown.String()
			if snakeCase(primaryKind) {
				o.ErrorClass = primaryKind
			}
		}
	}
}

// primaryFailure is the error kind of the primary's first failed attempt,
// "" when the primary did not fail.
func primaryFailure(failed []*gatewayv1.FailedAttempt) string {
	for _, f := range failed {
		if f.GetStep() == gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY {
			if k := f.GetErrorKind(); k != "" {
				return k
			}
			return providers.KindUnknown.String()
		}
	}
	return ""
}

// Outcome implements [Subscriber]: a finished routed call is recorded in
// its route's experiment. Calls that forced a variant, were moved to the
// budget fallback variant, or bypassed routing are in no experiment.
func (e *ExperimentService) Outcome(ctx context.Context, o *Outcome) {
	d := o.Decision
	if e == nil || d == nil || d.Route == "" || o.Request.GetForceVariant() != "" || o.Downgraded {
		return
	}
	obs := e.observation(d, clientOf(ctx), o.Err, o.Latency)
	if o.Err == nil {
		primary := ""
		for _, a := range o.Attempts {
			if a.Step == resilience.StepPrimary {
				primary = a.Kind.String()
				break
			}
		}
		answered(&obs, o.ResponseID, o.Provider, o.Model, protoconv.Usage(o.Usage), o.Cost.USD(), o.ServedFrom, o.Step, primary)
	}
	e.record(ctx, obs)
}

// snakeCase reports whether s is a usable error class: 1 to 64 bytes of
// a-z, 0-9 and _.
func snakeCase(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// errorClass is the experiment error class of a failed request: the
// provider error kind ("rate_limited", "timeout", "canceled", …).
func errorClass(err error) string {
	if errors.Is(err, errStreamEnded) {
		return providers.KindTruncated.String()
	}
	return providers.KindOf(err).String()
}

// record queues o for the writer (see [ExperimentService]).
func (e *ExperimentService) record(_ context.Context, o experiment.Observation) {
	e.writer.Add(o)
}

// write hands os to the store, one by one unless it takes batches. An
// observation the store refuses as invalid is logged and skipped.
func (e *ExperimentService) write(ctx context.Context, os []experiment.Observation) (int, error) {
	if b, ok := e.store.(experiment.BatchStore); ok && len(os) > 1 {
		err := b.RecordAll(ctx, os)
		if !errors.Is(err, experiment.ErrInvalid) {
			if err != nil {
				return 0, err
			}
			return len(os), nil
		}
		// One of the batch is invalid: write them one by one.
	}
	for i, o := range os {
		err := e.store.Record(ctx, o)
		if errors.Is(err, experiment.ErrInvalid) {
			e.log.Warn("experiment observation refused", "route", o.Route, "variant", o.Variant, "error", err)
			continue
		}
		if err != nil {
			return i, err
		}
	}
	return len(os), nil
}

// failed logs a failed write: recording pauses for RecordPause, so that
// the store cannot hold up or fail requests.
func (e *ExperimentService) failed(err error, unwritten int) {
	e.log.Warn("experiment store failed; recording paused",
		"pause", e.opts.RecordPause.String(), "unwritten", unwritten, "error", err)
}

// decisionExperiment is the experiment of the configuration that routed
// the request, which a reload since may have renamed.
func decisionExperiment(e *ExperimentService, d *routing.Decision) string {
	if d.Experiment != "" {
		return d.Experiment
	}
	return e.experimentID(d.Route)
}
