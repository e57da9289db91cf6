package resilience

import (
	"context"
	"errors"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/careerpath/llmgateway/providers"
)

// errFailoverNow marks a retryable failure that should not be retried on
// the same provider: its Retry-After does not fit in the caller's deadline.
type errFailoverNow struct{ err error }

func (e *errFailoverNow) Error() string { return e.err.Error() }
func (e *errFailoverNow) Unwrap() error { return e.err }

// kindOf classifies err, counting failsafe's own errors: an attempt timeout
// is a timeout, an open breaker or full bulkhead means the provider is
// unavailable right now.
func kindOf(err error) providers.ErrorKind {
	switch {
	case errors.Is(err, timeout.ErrExceeded):
		return providers.KindTimeout
	case errors.Is(err, circuitbreaker.ErrOpen), errors.Is(err, bulkhead.ErrFull):
		return providers.KindUnavailable
	}
	return providers.KindOf(err)
}

// retryable reports whether the same provider should be tried again.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	var now *errFailoverNow
	if errors.As(err, &now) || errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, bulkhead.ErrFull) {
		return false
	}
	return kindOf(err).Retryable()
}

// failoverable reports whether another provider (or the stale cache, or the
// degraded answer) may do better than the one that failed with err.
func failoverable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	switch kindOf(err) {
	case providers.KindBadRequest, providers.KindContextLength, providers.KindCanceled:
		return false
	}
	return true
}

// breakerFailure reports whether err counts against the provider's health.
// The caller's own mistakes and cancellations do not; an open breaker or a
// full bulkhead is not a new observation of the provider.
func breakerFailure(err error) bool {
	if err == nil || errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, bulkhead.ErrFull) {
		return false
	}
	switch kindOf(err) {
	case providers.KindBadRequest, providers.KindContextLength, providers.KindCanceled,
		// An answer that does not match its schema came from a provider
		// that answered: it is content, not availability.
		providers.KindSchemaMismatch:
		return false
	}
	return true
}
