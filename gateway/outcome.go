package gateway

import (
	"context"
	"time"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota/quotagrpc"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
	ledger "github.com/careerpath/llmgateway/usage"
)

// Outcome is what happened to one Complete, Stream or Embed call the service
// took on: where routing sent it, who answered, what it used and cost,
// how it was produced and how long it took, or how it failed. The service
// builds one per call and hands it to every [Subscriber]; nothing
// downstream reads the response back.
type Outcome struct {
	// Stream is set for a Stream call.
	Stream bool
	// Request is the caller's request; nil for an Embed call.
	Request *gatewayv1.CompleteRequest
	// Embed is the caller's request of an Embed call, nil otherwise. An
	// Embed call's outcome has no response id, cache or schema check, and
	// a usage of input tokens only.
	Embed *gatewayv1.EmbedRequest
	// Client is the authenticated client's configured name.
	Client string
	// Decision is where routing sent the request; nil when routing
	// refused it.
	Decision *routing.Decision
	// Downgraded is set when the route's budget was exhausted and its
	// budget fallback variant answered.
	Downgraded bool

	// Provider and Model answered (the model as the provider reported
	// it); both empty for a stale or degraded answer.
	Provider, Model string
	// Target is the configured provider and model that answered, as
	// metrics name it; zero for a stale or degraded answer.
	Target resilience.Target
	// Finish is why the answer ended.
	Finish providers.FinishReason
	// ResponseID is the answer's id.
	ResponseID string
	// Usage is the answer's token usage.
	Usage providers.Usage
	// Cost is what the answer cost; Saved, for a cache hit, what it would
	// have cost from the provider routing chose.
	Cost, Saved ledger.Nanos
	// ServedFrom and Step say how the answer was produced.
	ServedFrom gatewayv1.ServedFrom
	Step       gatewayv1.FailoverStep
	// Attempts are the failed attempts before the answer.
	Attempts []resilience.Attempt
	// SchemaCheck says whether the answer was checked against the
	// request's JSON Schema (and tools' parameters).
	SchemaCheck gatewayv1.SchemaCheck

	// Cacheable is set when the answer cache applied to the request:
	// an answer not served from it was a miss.
	Cacheable bool

	// Latency is the whole call's; Upstream the provider's part; Overhead
	// the gateway's own up to the answer; TTFT a stream's time to its
	// first token.
	Latency, Upstream, Overhead, TTFT time.Duration
	// Err is the call's failure, nil when it was answered.
	Err error

	grant     *quotagrpc.Grant // the quota reservation, settled by the quota subscriber
	start     time.Time        // when the service took the call on
	published bool
}

// Answered reports whether the call was answered.
func (o *Outcome) Answered() bool { return o.Err == nil }

// Subscriber is told of every call's [Outcome], on the call's goroutine
// once it is known (before a stream's final message is sent). It must not
// block the call: what takes time is queued. ctx is the call's.
type Subscriber interface {
	Outcome(ctx context.Context, o *Outcome)
}

// SubscriberFunc is a function as a [Subscriber].
type SubscriberFunc func(ctx context.Context, o *Outcome)

// Outcome implements Subscriber.
func (f SubscriberFunc) Outcome(ctx context.Context, o *Outcome) { f(ctx, o) }

// Subscribe adds sub to the subscribers every outcome is handed to, after
// those the service has itself (quota, ledger, experiments). It may be
// called while the service serves: calls that start later are handed to
// sub.
func (s *Service) Subscribe(sub Subscriber) {
	for {
		old := s.fanout.Load()
		var subs []Subscriber
		if old != nil {
			subs = append(subs, *old...)
		}
		subs = append(subs, sub)
		if s.fanout.CompareAndSwap(old, &subs) {
			return
		}
	}
}

// publish hands o to every subscriber, once.
func (s *Service) publish(ctx context.Context, o *Outcome) {
	if o.published {
		return
	}
	o.published = true
	if subs := s.fanout.Load(); subs != nil {
		for _, sub := range *subs {
			sub.Outcome(ctx, o)
		}
	}
}

// fill records an answer: who answered it, what it cost and saved, and
// how it was produced.
func (o *Outcome) fill(resp *providers.Response, a accounting, saved ledger.Nanos, attempts []resilience.Attempt, upstream time.Duration) {
	o.Provider, o.Model = a.provider, modelName(a.model, resp.Model)
	o.Target = resilience.Target{Provider: a.provider, Model: a.model}
	o.Finish = resp.FinishReason
	o.Usage = resp.Usage
	o.Cost, o.Saved = ledger.Nanos(a.costNanos), saved
	o.ServedFrom, o.Step = a.servedFrom, a.step
	o.Attempts = attempts
	o.Upstream = upstream
}
