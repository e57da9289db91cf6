package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrorKind classifies an upstream failure by what the gateway should do
// about it.
type ErrorKind int

// The kinds of upstream failure.
const (
	// KindUnknown is a failure nothing more is known about; treated as a
	// server error.
	KindUnknown ErrorKind = iota
	// KindRateLimited is HTTP 429: slow down, possibly for RetryAfter.
	KindRateLimited
	// KindOverloaded is HTTP 529 (Anthropic) or 503: the vendor sheds load.
	KindOverloaded
	// KindServer is any other 5xx.
	KindServer
	// KindTimeout is an attempt that ran out of time (connect, header or
	// idle timeout), not the caller's own deadline.
	KindTimeout
	// KindBadRequest is a 4xx caused by the request itself; retrying it
	// elsewhere will not help.
	KindBadRequest
	// KindContextLength is a request whose prompt plus max_tokens does not
	// fit the model's context window.
	KindContextLength
	// KindAuth is our own credential rejected by the vendor (401/403). It is
	// an operator problem, never reported to callers as theirs.
	KindAuth
	// KindUnavailable is a vendor that cannot be reached: connection
	// refused or reset, DNS failure, TLS failure.
	KindUnavailable
	// KindMalformed is a response the gateway cannot parse: invalid JSON,
	// an HTML error page, an unexpected content type.
	KindMalformed
	// KindTruncated is a stream that ended before its terminal event.
	KindTruncated
	// KindCanceled is the caller giving up (context canceled or its deadline
	// exceeded); never retried, never counted against the vendor.
	KindCanceled
	// KindQuotaExhausted is our account's credit or billing quota used up
	// (OpenAI's 429 insufficient_quota, Anthropic's billing_error): an
	// operator problem that waiting does not fix, so the provider is not
	// tried again but another one may answer.
	KindQuotaExhausted
	// KindSchemaMismatch is an answer that is not valid JSON, or does not
	// satisfy the request's JSON Schema (or a tool call whose arguments do
	// not satisfy its tool's): a failed attempt, which another attempt may
	// get right.
	KindSchemaMismatch
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindRateLimited:    "rate_limited",
	KindOverloaded:     "overloaded",
	KindServer:         "server_error",
	KindTimeout:        "timeout",
	KindBadRequest:     "bad_request",
	KindContextLength:  "context_length",
	KindAuth:           "auth",
	KindUnavailable:    "unavailable",
	KindMalformed:      "malformed",
	KindTruncated:      "truncated",
	KindCanceled:       "canceled",
	KindQuotaExhausted: "quota_exhausted",
	KindSchemaMismatch: "schema_mismatch",
}

// String is the kind's stable snake_case name, used as a metric label and in
// error details.
func (k ErrorKind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Retryable reports whether another attempt on the same provider may
// succeed. Every retryable kind may also be failed over to another
// provider, and so may [KindQuotaExhausted], which is not retryable.
func (k ErrorKind) Retryable() bool {
	switch k {
	case KindRateLimited, KindOverloaded, KindServer, KindTimeout,
		KindUnavailable, KindMalformed, KindTruncated, KindUnknown, KindSchemaMismatch:
		return true
	}
	return false
}

// CodeUnsupported is the Code of an [Error] the gateway makes itself for
// a provider it passes by because the provider cannot honour what the
// request needs; its Message, the gateway's own words, names the features.
const CodeUnsupported = "unsupported"

// Error is a typed upstream failure. Message is safe to show to callers: it
// never contains credentials, and for [KindAuth] it never contains the
// vendor's text at all.
type Error struct {
	// Kind classifies the failure.
	Kind ErrorKind
	// Provider is the name of the provider instance that failed.
	Provider string
	// StatusCode is the upstream HTTP status, 0 when none was received.
	StatusCode int
	// RetryAfter is the vendor's requested back-off, 0 when none was given.
	RetryAfter time.Duration
	// Code is the vendor's machine-readable error type or code, if any.
	Code string
	// Message is a short human-readable description.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.StatusCode != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil && e.Kind != KindAuth {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another attempt may succeed.
func (e *Error) Retryable() bool { return e.Kind.Retryable() }

// AsError returns err's [*Error], if it wraps one.
func AsError(err error) (*Error, bool) {
	var pe *Error
	ok := errors.As(err, &pe)
	return pe, ok
}

// KindOf classifies any error: an [*Error]'s own kind, context errors as
// [KindCanceled], network errors by what failed, everything else as
// [KindUnknown].
func KindOf(err error) ErrorKind {
	if err == nil {
		return KindUnknown
	}
	if pe, ok := AsError(err); ok {
		return pe.Kind
	}
	return classifyTransport(err)
}

// classifyTransport maps an error from net/http's client to a kind.
func classifyTransport(err error) ErrorKind {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return KindUnavailable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
		return KindUnavailable
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return KindUnavailable
	}
	return KindUnknown
}

// TransportError wraps a failure to send a request or read its response as
// an [*Error], classifying it as canceled, timeout or unavailable. ctx is
// the request's context: when it is done, the failure is the caller's.
func TransportError(ctx context.Context, provider string, err error) *Error {
	kind := classifyTransport(err)
	switch {
	case ctx.Err() != nil:
		kind = KindCanceled
	case kind == KindCanceled:
		// The context we were given is alive, so a deadline that fired came
		// from a per-attempt timeout, not the caller.
		kind = KindTimeout
	case kind == KindUnknown:
		// io.ErrUnexpectedEOF and friends: the connection died.
		kind = KindUnavailable
	}
	if errors.Is(err, io.EOF) {
		// Keep io.EOF out of the chain: to a stream's reader it means a
		// clean end, and this is a connection that died.
		err = fmt.Errorf("%w: %s", io.ErrUnexpectedEOF, err.Error())
	}
	return &Error{Kind: kind, Provider: provider, Message: "request failed", Err: err}
}

// StatusKind classifies an upstream HTTP error status.
func StatusKind(status int) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == 529 || status == http.StatusServiceUnavailable:
		return KindOverloaded
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return KindTimeout
	case status == http.StatusRequestEntityTooLarge:
		return KindContextLength
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindBadRequest
	}
	return KindUnknown
}

// ParseRetryAfter reads a Retry-After header value, either delay-seconds or
// an HTTP date, relative to now. It returns 0 when the value is empty,
// malformed or in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 1e7 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Errorf builds an [*Error] of kind for provider with a formatted message.
func Errorf(kind ErrorKind, provider, format string, args ...any) *Error {
	return &Error{Kind: kind, Provider: provider, Message: fmt.Sprintf(format, args...)}
}
