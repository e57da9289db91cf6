package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/experiment"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/batchwriter"
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
// left, by one writer that writes those queued within a few milliseconds
// together (one pipelined round trip to Redis); one that finds the queue
// full is written by its request. The RPCs first wait for what this
// replica has queued (cutting the writer's wait for more short), and
// Feedback for a response id it does not know yet looks again after
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
		Queue: experimentQueue, Batch: experimentBatch, Linger: experimentLinger,
		Timeout: opts.RecordTimeout, Pause: opts.RecordPause,
		Write: e.write, Failed: e.failed})
	return e
}

// The experiment recorder's queue and batch sizes, and how long Feedback
// waits before it looks again for a response id it does not know.
const (
	experimentQueue  = 4096
	experimentBatch  = 256
	experimentLinger = 5 * time.Millisecond // how long the writer waits for more observations to join a write
	feedbackRetry    = 50 * time.Millisecond
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

// storeError wraps a store failure, leaving the caller's own cancellation
// and deadline for [Status] to map as such.
func storeError(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return &gwerr.StoreError{Store: "experiments", Err: err}
}
