package quota

import (
	"errors"
	"fmt"
	"time"
)

// ErrExceeded matches every [*ExceededError] with [errors.Is].
var ErrExceeded = errors.New("quota: limit exceeded")

// ErrUnavailable is returned, wrapping the store's error, by a fail-closed
// [Limiter] whose store cannot answer.
var ErrUnavailable = errors.New("quota: store unavailable")

// ExceededError is returned by [Limiter.Reserve] when a request does not
// fit a limit. Nothing was consumed.
type ExceededError struct {
	// Limit is the name of the limit in rate_limits.json.
	Limit string
	// Kind is the dimension that is exhausted.
	Kind Kind
	// Key is the counter, e.g. "per_user|user=u42|rpm"; it names the
	// caller's scope values, so it belongs in logs, not in metric labels.
	Key string
	// Max is the limit: requests or tokens per minute, streams, or USD
	// per day or month.
	Max float64
	// Remaining is what is left of the limit now, in its unit.
	Remaining float64
	// RetryAfter is how long until the request would fit: computed from
	// the window for requests and tokens, the start of the next UTC day
	// or month for budgets, and [StreamRetryAfter] for stream slots
	// (which free when another stream ends). It is 0 only with TooLarge.
	RetryAfter time.Duration
	// TooLarge is set when the request alone needs more tokens than the
	// limit allows per minute: it never fits, however long it waits.
	TooLarge bool
}

// StreamRetryAfter is the RetryAfter of a request refused for want of a
// stream slot.
const StreamRetryAfter = time.Second

// Error implements error.
func (e *ExceededError) Error() string {
	if e.TooLarge {
		return fmt.Sprintf("quota: request exceeds %s of limit %q (%g) on its own", e.Kind, e.Limit, e.Max)
	}
	return fmt.Sprintf("quota: %s of limit %q exceeded (max %g, remaining %g), retry after %s",
		e.Kind, e.Limit, e.Max, e.Remaining, e.RetryAfter)
}

// Is reports whether target is [ErrExceeded].
func (e *ExceededError) Is(target error) bool { return target == ErrExceeded }
