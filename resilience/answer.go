package resilience

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// Step is the part of the failover chain that produced an answer.
type Step int

// The steps of the failover chain, in order.
const (
	StepPrimary Step = iota
	StepBackup
	StepStaleCache
	StepDegraded
)

var stepNames = [...]string{"primary", "backup", "stale_cache", "degraded"}

// String is the step's stable name, used as a metric label.
func (s Step) String() string {
	if s < 0 || int(s) >= len(stepNames) {
		return "unknown"
	}
	return stepNames[s]
}

// Target is one provider and model the chain may call.
type Target struct {
	Provider string
	Model    string
}

// Answer is what the chain produced. Exactly one of Response and Stream is
// set: a stream step that fell back to the stale cache or the degraded
// answer returns a Response, which the caller replays as a stream.
type Answer struct {
	// Response is a whole answer.
	Response *providers.Response
	// Stream is a live stream whose first content chunk has arrived: it is
	// safe to start sending. The caller must Close it.
	Stream providers.Stream
	// Embedding is the answer of [Chain.Embed], which sets nothing else
	// but Step and Target.
	Embedding *providers.EmbedResponse
	// Step says which part of the chain answered.
	Step Step
	// Target is the provider and model that answered (primary and backup
	// steps; for a stale answer, nothing is known about its origin).
	Target Target
	// Hedged is true when a hedged attempt produced the answer.
	Hedged bool
	// schema is the outcome of the schema check (see [Answer.SchemaCheck]).
	schema *schemaVerdict
}

// Attempt is one failed call to a provider.
type Attempt struct {
	Target Target
	Step   Step
	// Kind classifies the failure.
	Kind providers.ErrorKind
	// Err is the failure.
	Err error
	// Duration is how long the attempt took.
	Duration time.Duration
}

// StaleFunc returns a stored answer for the request, even past its
// time-to-live, or false when there is none.
type StaleFunc func(ctx context.Context) (*providers.Response, bool)

// Request is one request's passage through a [Chain].
type Request struct {
	// Provider is the request to send; its Model is replaced by each
	// target's model.
	Provider *providers.Request
	// Stale, when set, looks up a stored answer for the stale-if-error step.
	Stale StaleFunc
	// Embed is the embeddings request of [Chain.Embed]; its Model is
	// replaced by each target's model.
	Embed *providers.EmbedRequest

	gate     *gate // set by the chain for each run
	mu       sync.Mutex
	attempts []Attempt
	streams  []providers.Stream // every stream opened for the request
	hedged   atomic.Bool        // a hedged attempt went to the first backup
}

// opened remembers a stream opened for the request, so that one the chain
// does not return (its result discarded after a cancellation) is closed.
func (r *Request) opened(s providers.Stream) {
	r.mu.Lock()
	r.streams = append(r.streams, s)
	r.mu.Unlock()
}

// closeOthers closes every stream opened for the request but keep.
func (r *Request) closeOthers(keep providers.Stream) {
	r.mu.Lock()
	streams := r.streams
	r.streams = nil
	r.mu.Unlock()
	for _, s := range streams {
		if s != keep {
			_ = s.Close()
		}
	}
}

// Attempts returns the failed attempts made so far, in order.
func (r *Request) Attempts() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Attempt(nil), r.attempts...)
}

func (r *Request) record(a Attempt) {
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
}

type requestKey struct{}

// withRequest carries r through failsafe's executions, whose fallback
// functions are built once per configuration and see only the context.
func withRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

func requestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}
