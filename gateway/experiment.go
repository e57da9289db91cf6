package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/experiment"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/batchwriter"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
)

// ExperimentOptions configure an [ExperimentService].
type ExperimentOptions struct {
	// ExperimentID names the experiment a route's requests belong to; nil
	// uses the route name.
	ExperimentID func(route string) string
	// KnownRoute reports whether a route is configured, so that
	// GetExperiment answers an empty report for a configured route without
	// traffic yet rather than NotFound. Nil: only routes with recorded
	// traffic are found.
	KnownRoute func(route string) bool
	// RecordTimeout bounds one Record call to the store; 0 means 250ms.
	RecordTimeout time.Duration
	// RecordPause is how long recording stops after the store failed, so
	// that a Redis outage does not add RecordTimeout to every request;
	// 0 means 1s.
	RecordPause time.Duration
	// Logger receives store failures; nil discards them.
	Logger *slog.Logger
}

// ExperimentService answers the Feedback and GetExperiment RPCs and
// records every finished routed request into its experiment's
// [experiment.Store]. Observations are written after the response has
// left, by one writer that writes those queued meanwhile together (one
// pipelined round trip to Redis); one that finds the queue full is written
// by its request. The RPCs first wait for what this replica has queued,
// and Feedback for a response id it does not know yet looks again after
// [feedbackRetry], for an answer another replica has still to write.
// [ExperimentService.Close] writes what is left. Its methods may be
// called on a nil *ExperimentService: the RPCs then answer Unimplemented
// and recording does nothing.
type ExperimentService struct {
	store  experiment.Store
	opts   ExperimentOptions
	log    *slog.Logger
	writer *batchwriter.Writer[experiment.Observation]
}

// NewExperimentService returns a service keeping outcomes in st.
func NewExperimentService(st experiment.Store, opts ExperimentOptions) *ExperimentService {
	if opts.RecordTimeout <= 0 {
		opts.RecordTimeout = 250 * time.Millisecond
	}
	if opts.RecordPause <= 0 {
		opts.RecordPause = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &ExperimentService{store: st, opts: opts, log: log}
	e.writer = batchwriter.New(batchwriter.Options[experiment.Observation]{
		Queue: experimentQueue, Batch: experimentBatch, Timeout: opts.RecordTimeout, Pause: opts.RecordPause,
		Write: e.write, Failed: e.failed})
	return e
}

// The experiment recorder's queue and batch sizes, and how long Feedback
// waits before it looks again for a response id it does not know.
const (
	experimentQueue = 4096
	experimentBatch = 256
	feedbackRetry   = 50 * time.Millisecond
)

// Close writes the observations still queued; later ones are written by
// their requests. It may be called more than once.
func (e *ExperimentService) Close() {
	if e != nil {
		e.writer.Close()
	}
}

// Flush waits until every observation queued before it was called is
// written, or until ctx ends.
func (e *ExperimentService) Flush(ctx context.Context) error {
	if e == nil {
		return nil
	}
	return e.writer.Flush(ctx)
}

// HasRoute reports whether the current runtime has the named route; it
// suits [ExperimentOptions.KnownRoute].
func (s *Service) HasRoute(name string) bool {
	_, ok := s.Runtime().Config.Routes.Routes[name]
	return ok
}

// experimentID is the id of the named route's experiment in the current
// configuration.
func (s *Service) experimentID(route string) string {
	if r, ok := s.Runtime().Config.Routes.Routes[route]; ok {
		return r.ExperimentID(route)
	}
	return route
}

func (e *ExperimentService) experimentID(route string) string {
	if e.opts.ExperimentID != nil {
		return e.opts.ExperimentID(route)
	}
	return route
}

// errExperimentsDisabled answers the RPCs of a nil service.
var errExperimentsDisabled = &gwerr.Error{Kind: gwerr.Disabled, Message: "experiments are not enabled on this gateway"}

// Feedback implements the Feedback RPC of gatewayv1.LLMGatewayServer.
func (e *ExperimentService) Feedback(ctx context.Context, req *gatewayv1.FeedbackRequest) (*gatewayv1.FeedbackResponse, error) {
	if e == nil {
		return nil, errExperimentsDisabled
	}
	var v []gwerr.FieldError
	id := req.GetResponseId()
	switch {
	case id == "":
		v = append(v, gwerr.FieldError{Field: "response_id", Description: "is required"})
	case len(id) > experiment.MaxResponseIDBytes:
		v = append(v, gwerr.FieldError{Field: "response_id", Description: "must be at most 256 bytes"})
	}
	var o experiment.Outcome
	switch x := req.GetOutcome().(type) {
	case *gatewayv1.FeedbackRequest_Success:
		o = experiment.Bool(x.Success)
	case *gatewayv1.FeedbackRequest_Score:
		if math.IsNaN(x.Score) || math.Abs(x.Score) > experiment.MaxScore {
			v = append(v, gwerr.FieldError{Field: "score", Description: "must be a finite number between -1e6 and 1e6"})
		}
		o = experiment.Score(x.Score)
	default:
		v = append(v, gwerr.FieldError{Field: "outcome", Description: "one of success or score is required"})
	}
	if len(v) > 0 {
		return nil, &gwerr.InvalidRequestError{Violations: v}
	}
	if err := e.Flush(ctx); err != nil {
		return nil, storeError(ctx, err)
	}
	a, err := e.store.Feedback(ctx, id, o)
	if errors.Is(err, experiment.ErrUnknownResponse) {
		// Perhaps an answer another replica served a moment ago and is
		// still writing.
		t := time.NewTimer(feedbackRetry)
		select {
		case <-t.C:
			a, err = e.store.Feedback(ctx, id, o)
		case <-ctx.Done():
			t.Stop()
		}
	}
	switch {
	case errors.Is(err, experiment.ErrUnknownResponse):
		return nil, &gwerr.NotFoundError{ResourceType: "response", Name: id, Reason: gwerr.ReasonUnknownResponse, Err: err}
	case err != nil:
		return nil, storeError(ctx, err)
	}
	return &gatewayv1.FeedbackResponse{
		Route: a.Route, Experiment: a.Experiment, Variant: a.Variant,
		Replaced: a.Replaced, Counted: a.Counted,
	}, nil
}

// GetExperiment implements the GetExperiment RPC of
// gatewayv1.LLMGatewayServer.
func (e *ExperimentService) GetExperiment(ctx context.Context, req *gatewayv1.GetExperimentRequest) (*gatewayv1.GetExperimentResponse, error) {
	if e == nil {
		return nil, errExperimentsDisabled
	}
	route := req.GetRoute()
	if err := experiment.CheckName(route); err != nil {
		return nil, &gwerr.InvalidRequestError{Violations: []gwerr.FieldError{{Field: "route", Description: err.Error()}}}
	}
	id := e.experimentID(route)
	if err := e.Flush(ctx); err != nil {
		return nil, storeError(ctx, err)
	}
	snap, err := e.store.Snapshot(ctx, id)
	if err != nil {
		return nil, storeError(ctx, err)
	}
	if len(snap.Variants) == 0 && (e.opts.KnownRoute == nil || !e.opts.KnownRoute(route)) {
		return nil, &gwerr.NotFoundError{ResourceType: "experiment", Name: route, Reason: gwerr.ReasonUnknownExperiment,
			Err: errors.New("no route or recorded traffic by this name")}
	}
	if snap.Route == "" {
		snap.Route = route
	}
	return experimentResponse(snap.Report()), nil
}

func experimentResponse(r *experiment.Report) *gatewayv1.GetExperimentResponse {
	out := &gatewayv1.GetExperimentResponse{Route: r.Route, Experiment: r.Experiment, Leader: r.Leader}
	for _, v := range r.Variants {
		out.Variants = append(out.Variants, &gatewayv1.VariantStats{
			Variant:             v.Variant,
			Requests:            v.Requests,
			Errors:              v.Errors,
			ErrorsByClass:       v.ErrorsByClass,
			CacheHits:           v.CacheHits,
			Models:              v.Models,
			FeedbackCount:       v.FeedbackCount,
			Successes:           v.Successes,
			Failures:            v.Failures,
			SuccessRate:         v.SuccessRate,
			ScoreCount:          v.ScoreCount,
			MeanScore:           v.MeanScore,
			CostUsd:             v.CostUSD,
			CostPerRequestUsd:   v.CostPerRequestUSD,
			LatencyP50:          durationpb.New(v.LatencyP50),
			LatencyP95:          durationpb.New(v.LatencyP95),
			InputTokens:         v.InputTokens,
			OutputTokens:        v.OutputTokens,
			ProbabilityToBeBest: v.ProbabilityToBeBest,
		})
	}
	for _, c := range r.Comparisons {
		out.Comparisons = append(out.Comparisons, &gatewayv1.VariantComparison{
			Leader:              c.Leader,
			Variant:             c.Variant,
			Z:                   c.Z,
			PValue:              c.PValue,
			Significant:         c.Significant,
			ProbabilityToBeBest: c.ProbabilityLeaderBetter,
			SmallSample:         c.SmallSample,
		})
	}
	return out
}

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
	o := e.observation(d, err, latency)
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
	o := e.observation(d, err, latency)
	if err == nil && final != nil {
		answered(&o, final.GetId(), final.GetProvider(), final.GetModel(), final.GetUsage(), final.GetCostUsd(),
			final.GetServedFrom(), final.GetStep(), primaryFailure(final.GetFailedAttempts()))
	}
	e.record(ctx, o)
}

// observation starts the observation of a request routed by d.
func (e *ExperimentService) observation(d *routing.Decision, err error, latency time.Duration) experiment.Observation {
	o := experiment.Observation{
		Route: d.Route, Experiment: decisionExperiment(e, d), Variant: d.Variant,
		Model: d.Model, Latency: latency,
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
	obs := e.observation(d, o.Err, o.Latency)
	if o.Err == nil {
		primary := ""
		for _, a := range o.Attempts {
			if a.Step == resilience.StepPrimary {
				primary = a.Kind.String()
				break
			}
		}
		answered(&obs, o.ResponseID, o.Provider, o.Model, usage(o.Usage), o.Cost.USD(), o.ServedFrom, o.Step, primary)
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

// storeError wraps a store failure, leaving the caller's own cancellation
// and deadline for [Status] to map as such.
func storeError(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return &gwerr.StoreError{Store: "experiments", Err: err}
}

// decisionExperiment is the experiment of the configuration that routed
// the request, which a reload since may have renamed.
func decisionExperiment(e *ExperimentService, d *routing.Decision) string {
	if d.Experiment != "" {
		return d.Experiment
	}
	return e.experimentID(d.Route)
}
