package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/experiment"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
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
	writer *backgroundWriter[experiment.Observation]

	pausedUntil atomic.Int64 // unix nanoseconds
	dropped     atomic.Int64 // observations skipped while paused
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
	e.writer = newBackgroundWriter(experimentQueue, experimentBatch, e.write)
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
		e.writer.close()
	}
}

// Flush waits until every observation queued before it was called is
// written, or until ctx ends.
func (e *ExperimentService) Flush(ctx context.Context) error {
	if e == nil {
		return nil
	}
	return e.writer.flush(ctx)
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

// costNanos rounds a variant's summed cost to the nano-dollar. Every
// answer's cost is a whole number of nano-dollars, and the float sum of
// them is off by far less than half of one, so rounding gives the exact
// total back.
func costNanos(usd float64) int64 {
	if !(usd > 0) || usd >= math.MaxInt64/config.NanosPerUSD {
		return 0
	}
	return int64(math.Round(usd * config.NanosPerUSD))
}

// errExperimentsDisabled answers the RPCs of a nil service.
var errExperimentsDisabled = status.Error(codes.Unimplemented, "experiments are not enabled on this gateway")

// Feedback implements the Feedback RPC of gatewayv1.LLMGatewayServer.
func (e *ExperimentService) Feedback(ctx context.Context, req *gatewayv1.FeedbackRequest) (*gatewayv1.FeedbackResponse, error) {
	if e == nil {
		return nil, errExperimentsDisabled
	}
	var v []FieldError
	id := req.GetResponseId()
	switch {
	case id == "":
		v = append(v, FieldError{Field: "response_id", Description: "is required"})
	case len(id) > experiment.MaxResponseIDBytes:
		v = append(v, FieldError{Field: "response_id", Description: "must be at most 256 bytes"})
	}
	var o experiment.Outcome
	switch x := req.GetOutcome().(type) {
	case *gatewayv1.FeedbackRequest_Success:
		o = experiment.Bool(x.Success)
	case *gatewayv1.FeedbackRequest_Score:
		if math.IsNaN(x.Score) || math.Abs(x.Score) > experiment.MaxScore {
			v = append(v, FieldError{Field: "score", Description: "must be a finite number between -1e6 and 1e6"})
		}
		o = experiment.Score(x.Score)
	default:
		v = append(v, FieldError{Field: "outcome", Description: "one of success or score is required"})
	}
	if len(v) > 0 {
		return nil, &InvalidRequestError{Violations: v}
	}
	if err := e.Flush(ctx); err != nil {
		return nil, storeError(ctx, err)
	}
	// Only the client that received the answer judges it, or one allowed
	// to see every client's usage; to others it is unknown.
	from := experiment.AnyClient
	if c, ok := auth.FromContext(ctx); ok && !c.AllowAllUsage {
		from = c.Name
	}
	a, err := e.store.Feedback(ctx, id, from, o)
	if errors.Is(err, experiment.ErrUnknownResponse) {
		// Perhaps an answer another replica served a moment ago and is
		// still writing.
		t := time.NewTimer(feedbackRetry)
		select {
		case <-t.C:
			a, err = e.store.Feedback(ctx, id, from, o)
		case <-ctx.Done():
			t.Stop()
		}
	}
	switch {
	case errors.Is(err, experiment.ErrUnknownResponse):
		return nil, &NotFoundError{ResourceType: "response", Name: id, Reason: "UNKNOWN_RESPONSE", Err: err}
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
		return nil, &InvalidRequestError{Violations: []FieldError{{Field: "route", Description: err.Error()}}}
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
		return nil, &NotFoundError{ResourceType: "experiment", Name: route, Reason: "UNKNOWN_EXPERIMENT",
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
			CostUsd:             float64(costNanos(v.CostUSD)) / config.NanosPerUSD,
			CostNanoUsd:         costNanos(v.CostUSD),
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
	o := e.observation(ctx, d, err, latency)
	if err == nil && resp != nil {
		answered(&o, resp.GetId(), resp.GetProvider(), resp.GetModel(), resp.GetUsage(), resp.GetCostUsd(),
			resp.GetServedFrom(), resp.GetStep(), resp.GetFailedAttempts())
	}
	e.record(ctx, o)
}

// RecordStream records a finished Stream call, like [ExperimentService.RecordComplete]
// with the stream's final message (nil when the stream failed).
func (e *ExperimentService) RecordStream(ctx context.Context, d *routing.Decision, final *gatewayv1.StreamResponse, err error, latency time.Duration) {
	if e == nil || d == nil || d.Route == "" {
		return
	}
	o := e.observation(ctx, d, err, latency)
	if err == nil && final != nil {
		answered(&o, final.GetId(), final.GetProvider(), final.GetModel(), final.GetUsage(), final.GetCostUsd(),
			final.GetServedFrom(), final.GetStep(), final.GetFailedAttempts())
	}
	e.record(ctx, o)
}

// observation starts the observation of a request routed by d, made by
// the authenticated client of ctx.
func (e *ExperimentService) observation(ctx context.Context, d *routing.Decision, err error, latency time.Duration) experiment.Observation {
	o := experiment.Observation{
		Route: d.Route, Experiment: decisionExperiment(e, d), Variant: d.Variant,
		Model: d.Model, Latency: latency,
	}
	if c, ok := auth.FromContext(ctx); ok {
		o.Client = c.Name
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
	served gatewayv1.ServedFrom, step gatewayv1.FailoverStep, failed []*gatewayv1.FailedAttempt,
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
		for _, f := range failed {
			if f.GetStep() == gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY {
				o.ErrorClass = providers.KindUnknown.String()
				if k := f.GetErrorKind(); snakeCase(k) {
					o.ErrorClass = k
				}
				break
			}
		}
	}
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
	e.writer.add(o)
}

// write hands os to the store without letting the store hold up or fail
// a request: it is bounded by RecordTimeout, and after a failure
// recording pauses for RecordPause.
func (e *ExperimentService) write(os []experiment.Observation) {
	now := time.Now().UnixNano()
	if now < e.pausedUntil.Load() {
		e.dropped.Add(int64(len(os)))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.RecordTimeout)
	defer cancel()
	var err error
	if b, ok := e.store.(experiment.BatchStore); ok && len(os) > 1 {
		err = b.RecordAll(ctx, os)
	} else {
		for _, o := range os {
			if err = e.store.Record(ctx, o); errors.Is(err, experiment.ErrInvalid) {
				e.log.Warn("experiment observation refused", "route", o.Route, "variant", o.Variant, "error", err)
				err = nil
			}
			if err != nil {
				break
			}
		}
	}
	if err == nil {
		return
	}
	if errors.Is(err, experiment.ErrInvalid) {
		// One of a batch is invalid: write them one by one.
		for _, o := range os {
			e.write([]experiment.Observation{o})
		}
		return
	}
	e.pausedUntil.Store(now + int64(e.opts.RecordPause))
	e.log.Warn("experiment store failed; recording paused",
		"pause", e.opts.RecordPause.String(), "dropped_before", e.dropped.Swap(0), "error", err)
}

// NotFoundError is a resource a request names that the gateway does not
// have: a response id it never issued or no longer remembers, an
// experiment without route or traffic. [Status] maps it to NotFound with
// an ErrorInfo (Reason) and a ResourceInfo.
type NotFoundError struct {
	// ResourceType is what was looked for, e.g. "response".
	ResourceType string
	// Name is the name or id looked for.
	Name string
	// Reason is the ErrorInfo reason, e.g. "UNKNOWN_RESPONSE".
	Reason string
	// Err is the underlying error, for errors.Is and errors.As; its text
	// is not repeated in the message.
	Err error
}

func (e *NotFoundError) Error() string {
	return e.ResourceType + " " + strconv.Quote(e.Name) + " not found"
}

// Unwrap returns the underlying error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// GRPCStatus is the NotFound status of the error.
func (e *NotFoundError) GRPCStatus() *status.Status {
	return withDetails(codes.NotFound, e.Error(),
		&errdetails.ErrorInfo{Reason: e.Reason, Domain: ErrorDomain},
		&errdetails.ResourceInfo{ResourceType: e.ResourceType, ResourceName: e.Name, Description: "not found"})
}

// StoreError is a backing store (Redis) that failed. [Status] maps it to
// Unavailable: the caller may retry.
type StoreError struct {
	// Store names the store, e.g. "experiments".
	Store string
	// Err is the store's error.
	Err error
}

func (e *StoreError) Error() string { return e.Store + " store unavailable: " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

// GRPCStatus is the Unavailable status of the error; the store's own
// error, which may name internal hosts, is not shown.
func (e *StoreError) GRPCStatus() *status.Status {
	return withDetails(codes.Unavailable, e.Store+" store unavailable",
		&errdetails.ErrorInfo{Reason: "STORE_UNAVAILABLE", Domain: ErrorDomain, Metadata: map[string]string{"store": e.Store}})
}

// storeError wraps a store failure, leaving the caller's own cancellation
// and deadline for [Status] to map as such.
func storeError(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return &StoreError{Store: "experiments", Err: err}
}

// decisionExperiment is the experiment of the configuration that routed
// the request, which a reload since may have renamed.
func decisionExperiment(e *ExperimentService, d *routing.Decision) string {
	if d.Experiment != "" {
		return d.Experiment
	}
	return e.experimentID(d.Route)
}
