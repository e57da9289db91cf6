package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/batchwriter"
	ledger "github.com/careerpath/llmgateway/usage"
)

// Usage ledger defaults.
const (
	// usageRecordTimeout bounds one write of entries to the ledger's store.
	usageRecordTimeout = 100 * time.Millisecond
	// usagePause is how long recording stops after the store failed, so
	// that a Redis outage does not add the timeout to every write.
	usagePause = time.Second
	// usageQueue is how many answers may wait for the ledger's writer;
	// past it an answer is recorded on its request's goroutine instead.
	usageQueue = 4096
	// usageBatch is the most entries written to the store at once.
	usageBatch = 256
	// usageLinger is how long the writer waits for more answers to join a
	// write: the answers of a few milliseconds share one round trip, and
	// those of one client, route and model one set of counters.
	usageLinger = 5 * time.Millisecond
)

// Ledger records every answer the gateway serves into a [ledger.Store] and
// answers the Usage RPC from it. Recording never fails or holds up a
// request for long: answers are queued, in memory, to one writer that
// writes them in batches (one pipelined round trip to Redis for all the
// answers queued within a few milliseconds) after the response has left;
// a request whose answer finds the queue full records it itself. Nothing
// queued is lost: [Ledger.Close] writes what is left, and the Usage RPC
// first waits for the answers queued before it (cutting the writer's wait
// for more short). A store failure is logged, counted and told to the
// observer, and recording pauses for a second after one; the answers not
// written are counted in [Ledger.Failures].
type Ledger struct {
	store ledger.Store
	obs   ledger.Observer
	log   *slog.Logger
	now   func() time.Time

	writer *batchwriter.Writer[ledger.Entry]
}

// newLedger returns a ledger keeping entries in st. Its writer starts with
// the first answer; [Ledger.Close] stops it.
func newLedger(st ledger.Store, obs ledger.Observer, log *slog.Logger) *Ledger {
	l := &Ledger{store: st, obs: obs, log: log, now: time.Now}
	l.writer = batchwriter.New(l.writerOptions(usageQueue, usageBatch, usageRecordTimeout))
	return l
}

// Failures is the number of answers the ledger failed to record: store
// errors, and answers skipped while recording paused after one.
func (l *Ledger) Failures() int64 { return l.writer.Lost() }

// writerOptions are the ledger's background writer's.
func (l *Ledger) writerOptions(queue, batch int, timeout time.Duration) batchwriter.Options[ledger.Entry] {
	return batchwriter.Options[ledger.Entry]{Queue: queue, Batch: batch, Linger: usageLinger, Timeout: timeout, Pause: usagePause,
		Write: l.write, Failed: l.failed}
}

// Outcome implements [Subscriber]: the ledger records every answered
// call; failed calls record nothing. It queues the answer's entry for the
// writer, or, with the queue full or the ledger closed, writes it itself.
func (l *Ledger) Outcome(_ context.Context, o *Outcome) {
	if o.Err == nil {
		l.writer.Add(l.entry(o))
	}
}

// entry is the ledger entry of an answer. A fresh answer carries its
// tokens and cost; a cache hit no tokens and no cost, but what it would
// have cost; a stale or degraded answer nothing but its count.
func (l *Ledger) entry(o *Outcome) ledger.Entry {
	e := ledger.Entry{Time: l.now(), Dims: ledger.Dims{
		Client: o.Client, Provider: o.Provider, Model: o.Model, Route: o.Decision.Route}}
	switch o.ServedFrom {
	case gatewayv1.ServedFrom_SERVED_FROM_FRESH:
		e.InputTokens = o.Usage.InputTokens
		e.OutputTokens = o.Usage.OutputTokens
		e.CachedInputTokens = o.Usage.CachedInputTokens
		e.Cost = o.Cost
	case gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT:
		e.CacheHit = true
		// What the service priced the answer at when it served the hit
		// (the same figure the request's metrics and access line carry).
		e.Saved = o.Saved
	}
	return e
}

// Flush waits until every answer queued before it was called is written
// (or counted as failed), or until ctx ends.
func (l *Ledger) Flush(ctx context.Context) error { return l.writer.Flush(ctx) }

// Close writes what is queued and stops the writer; answers recorded
// after it are written on their own goroutines.
func (l *Ledger) Close() { l.writer.Close() }

// write writes es to the store and tells the observer of those written.
func (l *Ledger) write(ctx context.Context, es []ledger.Entry) (int, error) {
	n, err := recordAll(ctx, l.store, es)
	if l.obs != nil {
		for _, e := range es[:n] {
			l.obs.Recorded(e)
		}
	}
	return n, err
}

// failed logs a failed write and tells the observer.
func (l *Ledger) failed(err error, unwritten int) {
	l.log.Warn("usage ledger: recording failed; pausing", "error", err.Error(), "pause", usagePause.String(),
		"entries", unwritten)
	if l.obs != nil {
		l.obs.Failed(err)
	}
}

// recordAll records es in st, in one call if st is a [ledger.BatchStore].
// It returns how many of es were recorded before an error.
func recordAll(ctx context.Context, st ledger.Store, es []ledger.Entry) (int, error) {
	if b, ok := st.(ledger.BatchStore); ok && len(es) > 1 {
		if err := b.RecordAll(ctx, es); err != nil {
			return 0, err
		}
		return len(es), nil
	}
	for i, e := range es {
		if err := st.Record(ctx, e); err != nil {
			return i, err
		}
	}
	return len(es), nil
}

// clientName is the name of the client the request was authenticated
// as: never its key.
func clientName(ctx context.Context) string {
	if c, ok := auth.FromContext(ctx); ok {
		return c.Name
	}
	return config.AnonymousClient
}

// Ledger returns the service's usage ledger.
func (s *Service) Ledger() *Ledger { return s.ledger }

// Usage implements gatewayv1.LLMGatewayServer.
func (s *Service) Usage(ctx context.Context, req *gatewayv1.UsageRequest) (*gatewayv1.UsageResponse, error) {
	return s.ledger.Usage(ctx, req)
}

// granularities maps the contract's granularities to the ledger's;
// unspecified is a day.
var granularities = map[gatewayv1.Granularity]ledger.Granularity{
	gatewayv1.Granularity_GRANULARITY_UNSPECIFIED: ledger.Day,
	gatewayv1.Granularity_GRANULARITY_HOUR:        ledger.Hour,
	gatewayv1.Granularity_GRANULARITY_DAY:         ledger.Day,
	gatewayv1.Granularity_GRANULARITY_MONTH:       ledger.Month,
}

var dimensions = map[gatewayv1.UsageDimension]ledger.Dimension{
	gatewayv1.UsageDimension_USAGE_DIMENSION_PROVIDER: ledger.ByProvider,
	gatewayv1.UsageDimension_USAGE_DIMENSION_MODEL:    ledger.ByModel,
	gatewayv1.UsageDimension_USAGE_DIMENSION_ROUTE:    ledger.ByRoute,
	gatewayv1.UsageDimension_USAGE_DIMENSION_CLIENT:   ledger.ByClient,
}

// Usage answers the Usage RPC. A client without allow_all_usage sees
// only its own usage, and asking for another client's is refused.
func (l *Ledger) Usage(ctx context.Context, req *gatewayv1.UsageRequest) (*gatewayv1.UsageResponse, error) {
	client, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &gwerr.Error{Kind: gwerr.Denied, Reason: gwerr.ReasonUsageNotAllowed,
			Message: "usage needs an authenticated client"}
	}
	g, ok := granularities[req.GetGranularity()]
	if !ok {
		return nil, &gwerr.InvalidRequestError{Violations: []gwerr.FieldError{{Field: "granularity", Description: "is not a granularity"}}}
	}
	q := ledger.Query{Granularity: g, Filter: ledger.Dims{
		Provider: req.GetProvider(), Model: req.GetModel(), Route: req.GetRoute(), Client: req.GetClient()}}
	if req.GetStart() != nil {
		q.Start = req.GetStart().AsTime()
	}
	if req.GetEnd() != nil {
		q.End = req.GetEnd().AsTime()
	}
	for _, d := range req.GetGroupBy() {
		by, ok := dimensions[d]
		if !ok {
			return nil, &gwerr.InvalidRequestError{Violations: []gwerr.FieldError{{Field: "group_by", Description: "is not a dimension"}}}
		}
		q.GroupBy |= by
	}
	if !client.AllowAllUsage {
		if q.Filter.Client != "" && q.Filter.Client != client.Name {
			return nil, &gwerr.Error{Kind: gwerr.Denied, Reason: gwerr.ReasonUsageNotAllowed,
				Message:  "client " + client.Name + " may read only its own usage (allow_all_usage in clients.json)",
				Metadata: map[string]string{"client": client.Name}}
		}
		q.Filter.Client = client.Name
	}
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	res, err := ledger.Report(ctx, l.store, q, l.now())
	var qe *ledger.QueryError
	switch {
	case errors.As(err, &qe):
		return nil, &gwerr.InvalidRequestError{Violations: []gwerr.FieldError{{Field: qe.Field, Description: qe.Reason}}}
	case err != nil:
		if ctx.Err() == nil || (!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)) {
			err = &gwerr.StoreError{Store: "usage", Err: err}
		}
		return nil, err
	}
	return usageResponse(req.GetGranularity(), res), nil
}

func usageResponse(g gatewayv1.Granularity, r *ledger.Result) *gatewayv1.UsageResponse {
	if g == gatewayv1.Granularity_GRANULARITY_UNSPECIFIED {
		g = gatewayv1.Granularity_GRANULARITY_DAY
	}
	out := &gatewayv1.UsageResponse{
		Granularity: g,
		Start:       timestamppb.New(r.Start),
		End:         timestamppb.New(r.End),
		Rows:        make([]*gatewayv1.UsageRow, len(r.Rows)),
		Totals: &gatewayv1.UsageTotals{
			Requests: r.Total.Requests, CacheHits: r.Total.CacheHits,
			InputTokens: r.Total.InputTokens, OutputTokens: r.Total.OutputTokens,
			CachedInputTokens: r.Total.CachedInputTokens,
			CostUsd:           r.Total.Cost.USD(), SavedUsd: r.Total.Saved.USD(),
			CostNanoUsd: int64(r.Total.Cost), SavedNanoUsd: int64(r.Total.Saved),
		},
	}
	for i, row := range r.Rows {
		out.Rows[i] = &gatewayv1.UsageRow{
			BucketStart: timestamppb.New(row.Start),
			Provider:    row.Provider, Model: row.Model, Route: row.Route, Client: row.Client,
			Requests: row.Requests, CacheHits: row.CacheHits,
			InputTokens: row.InputTokens, OutputTokens: row.OutputTokens, CachedInputTokens: row.CachedInputTokens,
			CostUsd: row.Cost.USD(), SavedUsd: row.Saved.USD(),
			CostNanoUsd: int64(row.Cost), SavedNanoUsd: int64(row.Saved),
		}
	}
	return out
}
