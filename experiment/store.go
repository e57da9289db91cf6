package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultAttributionTTL is how long a store remembers which variant produced
// a response, i.e. how long feedback for it is accepted.
const DefaultAttributionTTL = 7 * 24 * time.Hour

// MaxScore bounds the absolute value of a score.
const MaxScore = 1e6

// MaxResponseIDBytes is the longest response id a store accepts.
const MaxResponseIDBytes = 256

// ErrUnknownResponse is returned by [Store.Feedback] for a response id the
// store never recorded or no longer remembers.
var ErrUnknownResponse = errors.New("unknown or expired response id")

// AnyClient is the client to give feedback as when the caller may judge
// every response (a client allowed to see all usage).
const AnyClient = "*"

// ErrInvalid is wrapped by the errors for observations and outcomes that
// break the rules documented on their fields.
var ErrInvalid = errors.New("invalid")

// Store keeps per-variant counters and response attributions. Several
// stores sharing one backend (Redis) report the same experiments, so that
// replicas of the gateway add up. Implementations are safe for concurrent
// use.
type Store interface {
	// Record adds one finished request. It is on every request's path and
	// must be cheap.
	Record(ctx context.Context, o Observation) error
	// Feedback attributes an outcome, given by client, to the variant that
	// produced the response. It returns an error wrapping
	// [ErrUnknownResponse] when the response id is unknown or expired, or
	// when another client received the response (unless client is
	// [AnyClient]); nothing is recorded then.
	Feedback(ctx context.Context, responseID, client string, o Outcome) (Attribution, error)
	// Snapshot returns the counters of every variant of an experiment; an
	// experiment nothing was recorded for has no variants.
	Snapshot(ctx context.Context, experiment string) (*Snapshot, error)
}

// BatchStore is a [Store] that records several observations in one call,
// such as [RedisStore] in one pipelined round trip. The gateway's
// experiment recorder uses it to write the observations that queued up
// while it wrote the last ones.
type BatchStore interface {
	Store
	// RecordAll records every observation of os, as [Store.Record] each.
	// On an error, none or some of them may have been recorded.
	RecordAll(ctx context.Context, os []Observation) error
}

// Observation is one finished request, as recorded by [Store.Record].
type Observation struct {
	// Route is the route the request took. Required.
	Route string
	// Experiment is the experiment the request belongs to (for now the
	// route name; a route's experiment may later get its own id). Required.
	Experiment string
	// Variant is the variant the request was assigned. Required.
	Variant string
	// Provider and Model are what answered (a backup when the variant's
	// own model failed). Optional.
	Provider, Model string
	// ResponseID is the id returned to the caller; when set, feedback for
	// it is accepted for the store's attribution TTL.
	ResponseID string
	// Client names the client that received the response: only it (or
	// [AnyClient]) may give feedback on it. Optional: a response recorded
	// without one takes feedback from every client.
	Client string
	// ErrorClass is empty when the variant's own model answered; otherwise
	// a short snake_case class of the failure ("rate_limited", "timeout"),
	// also when a fallback rescued the request.
	ErrorClass string
	// CacheHit marks an answer served from the gateway's cache: counted
	// apart, kept out of every other statistic.
	CacheHit bool
	// Latency is the request's latency; only successful requests enter the
	// latency histogram.
	Latency time.Duration
	// InputTokens and OutputTokens are the tokens billed for the request.
	InputTokens, OutputTokens int64
	// CostUSD is what the request cost in US dollars.
	CostUSD float64
}

// counted reports whether the observation exercised the variant's model
// successfully, so that its latency and feedback enter the statistics.
func (o *Observation) counted() bool { return o.ErrorClass == "" && !o.CacheHit }

// validate checks the observation's fields.
func (o *Observation) validate() error {
	if err := CheckName(o.Experiment); err != nil {
		return fmt.Errorf("%w observation: experiment: %w", ErrInvalid, err)
	}
	if err := CheckName(o.Route); err != nil {
		return fmt.Errorf("%w observation: route: %w", ErrInvalid, err)
	}
	if err := CheckName(o.Variant); err != nil {
		return fmt.Errorf("%w observation: variant: %w", ErrInvalid, err)
	}
	if !printable(o.Provider, 128) || !printable(o.Model, 256) {
		return fmt.Errorf("%w observation: provider and model must be printable, at most 128 and 256 bytes", ErrInvalid)
	}
	if o.Client == AnyClient || strings.ContainsAny(o.Client, "|") || !printable(o.Client, 256) {
		return fmt.Errorf("%w observation: client must be printable, at most 256 bytes, without '|', and not %q", ErrInvalid, AnyClient)
	}
	if len(o.ResponseID) > MaxResponseIDBytes {
		return fmt.Errorf("%w observation: response id is longer than %d bytes", ErrInvalid, MaxResponseIDBytes)
	}
	if o.ErrorClass != "" && !snake(o.ErrorClass) {
		return fmt.Errorf("%w observation: error class %q must be 1 to 64 bytes of a-z, 0-9 and _", ErrInvalid, o.ErrorClass)
	}
	if o.Latency < 0 || o.InputTokens < 0 || o.OutputTokens < 0 ||
		!(o.CostUSD >= 0) || math.IsInf(o.CostUSD, 1) {
		return fmt.Errorf("%w observation: latency, tokens and cost must be finite and not negative", ErrInvalid)
	}
	return nil
}

// CheckName reports whether s is usable as an experiment, route or variant
// name: 1 to 128 printable ASCII bytes without spaces, '{', '}' or '|' (the
// names appear in Redis keys, where braces select the cluster slot).
func CheckName(s string) error {
	if s == "" {
		return errors.New("is required")
	}
	if len(s) > 128 {
		return errors.New("must be at most 128 bytes")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '{' || c == '}' || c == '|' {
			return fmt.Errorf("must not contain %q", c)
		}
	}
	return nil
}

// validName reports whether [CheckName] accepts s.
func validName(s string) bool { return CheckName(s) == nil }

// printable reports whether s has at most n bytes and no control bytes.
func printable(s string, n int) bool {
	if len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// snake reports whether s is 1 to 64 bytes of a-z, 0-9 and _.
func snake(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// outcomeKind is what an [Outcome] holds.
type outcomeKind uint8

const (
	outcomeNone outcomeKind = iota
	outcomeFailure
	outcomeSuccess
	outcomeScore
)

// Outcome is an end user's verdict on one response: binary ([Bool]) or a
// score ([Score]). The zero Outcome is no verdict and is refused.
type Outcome struct {
	kind  outcomeKind
	score float64
}

// Bool is a binary verdict: success or failure.
func Bool(success bool) Outcome {
	if success {
		return Outcome{kind: outcomeSuccess}
	}
	return Outcome{kind: outcomeFailure}
}

// Score is a graded verdict on the application's own scale; it must be
// finite with an absolute value of at most [MaxScore].
func Score(v float64) Outcome { return Outcome{kind: outcomeScore, score: v} }

// IsScore reports whether the outcome is a score, and which.
func (o Outcome) IsScore() (float64, bool) { return o.score, o.kind == outcomeScore }

// IsBool reports whether the outcome is binary, and whether it is success.
func (o Outcome) IsBool() (success, ok bool) {
	return o.kind == outcomeSuccess, o.kind == outcomeSuccess || o.kind == outcomeFailure
}

func (o Outcome) validate() error {
	switch o.kind {
	case outcomeSuccess, outcomeFailure:
		return nil
	case outcomeScore:
		if math.IsNaN(o.score) || math.Abs(o.score) > MaxScore {
			return fmt.Errorf("%w outcome: score must be finite and between -%g and %g", ErrInvalid, MaxScore, MaxScore)
		}
		return nil
	}
	return fmt.Errorf("%w outcome: no verdict", ErrInvalid)
}

// encode is the outcome's compact form in Redis: "", "s", "f" or "#<score>".
func (o Outcome) encode() string {
	switch o.kind {
	case outcomeSuccess:
		return "s"
	case outcomeFailure:
		return "f"
	case outcomeScore:
		return "#" + strconv.FormatFloat(o.score, 'g', -1, 64)
	}
	return ""
}

func decodeOutcome(s string) (Outcome, error) {
	switch {
	case s == "":
		return Outcome{}, nil
	case s == "s":
		return Bool(true), nil
	case s == "f":
		return Bool(false), nil
	case s[0] == '#':
		v, err := strconv.ParseFloat(s[1:], 64)
		if err != nil {
			return Outcome{}, fmt.Errorf("stored outcome %q: %w", s, err)
		}
		return Score(v), nil
	}
	return Outcome{}, fmt.Errorf("stored outcome %q is not valid", s)
}

// feedbackDelta is the change of a variant's feedback counters when
// verdict next replaces prev (the zero Outcome for a first verdict).
type feedbackDelta struct {
	successes, failures, scores int64
	scoreSum                    float64
}

func deltaOf(prev, next Outcome) feedbackDelta {
	var d feedbackDelta
	apply := func(o Outcome, sign int64) {
		switch o.kind {
		case outcomeSuccess:
			d.successes += sign
		case outcomeFailure:
			d.failures += sign
		case outcomeScore:
			d.scores += sign
			d.scoreSum += float64(sign) * o.score
		}
	}
	apply(prev, -1)
	apply(next, 1)
	return d
}

// Attribution says where a verdict went.
type Attribution struct {
	// Route, Experiment and Variant identify the response's variant.
	Route, Experiment, Variant string
	// Counted is false when the response did not exercise the variant's
	// model (a cache hit, or a failure rescued by a fallback): the verdict
	// is remembered but kept out of the statistics.
	Counted bool
	// Replaced is true when the verdict replaced an earlier one.
	Replaced bool
}

// checkFeedback validates the arguments of [Store.Feedback].
func checkFeedback(responseID string, o Outcome) error {
	if responseID == "" || len(responseID) > MaxResponseIDBytes {
		return fmt.Errorf("%w feedback: response id must be 1 to %d bytes", ErrInvalid, MaxResponseIDBytes)
	}
	return o.validate()
}

// mayGiveFeedback reports whether client may give feedback on a response
// that owner received.
func mayGiveFeedback(client, owner string) bool {
	return client == AnyClient || owner == "" || client == owner
}

// unknownResponse is the error for a response id nobody remembers.
func unknownResponse(id string) error {
	return fmt.Errorf("%w: %q", ErrUnknownResponse, id)
}
