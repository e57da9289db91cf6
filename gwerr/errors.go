package gwerr

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain of every error the gateway returns.
const Domain = "llmgateway"

// ErrorInfo reasons of the gateway's errors. Provider failures use
// [UpstreamReason] of their kind.
const (
	ReasonInvalidRequest          = "INVALID_REQUEST"
	ReasonShuttingDown            = "SHUTTING_DOWN"
	ReasonUnknownRoute            = "UNKNOWN_ROUTE"
	ReasonUnknownModel            = "UNKNOWN_MODEL"
	ReasonUnknownVariant          = "UNKNOWN_VARIANT"
	ReasonMissingVariable         = "MISSING_VARIABLE"
	ReasonPromptTooLarge          = "PROMPT_TOO_LARGE"
	ReasonForcedVariantNotAllowed = "FORCED_VARIANT_NOT_ALLOWED"
	ReasonNoEnrichmentRecord      = "NO_ENRICHMENT_RECORD"
	ReasonTemplateFailed          = "TEMPLATE_FAILED"
	ReasonQuotaExceeded           = "QUOTA_EXCEEDED"
	ReasonRequestExceedsQuota     = "REQUEST_EXCEEDS_QUOTA"
	ReasonUsageNotAllowed         = "USAGE_NOT_ALLOWED"
	ReasonStoreUnavailable        = "STORE_UNAVAILABLE"
	ReasonUnknownResponse         = "UNKNOWN_RESPONSE"
	ReasonUnknownExperiment       = "UNKNOWN_EXPERIMENT"
	// ReasonMissingAPIKey: no key was sent, or not in a form the gateway
	// reads.
	ReasonMissingAPIKey = "MISSING_API_KEY"
	// ReasonInvalidAPIKey: the key belongs to no client, or the call
	// carried more than one key.
	ReasonInvalidAPIKey = "INVALID_API_KEY"
	// ReasonRouteNotAllowed: the client may not use the route.
	ReasonRouteNotAllowed = "ROUTE_NOT_ALLOWED"
	// ReasonModelOverrideNotAllowed: the client may not name a model
	// directly.
	ReasonModelOverrideNotAllowed = "MODEL_OVERRIDE_NOT_ALLOWED"
	// ReasonNotEmbeddingModel: an Embed call named a route or model of
	// a chat model.
	ReasonNotEmbeddingModel = "NOT_AN_EMBEDDING_MODEL"
	// ReasonEmbeddingModel: a completion named a route or model of an
	// embedding model.
	ReasonEmbeddingModel = "EMBEDDING_MODEL"
	// ReasonUpstreamRateLimited is [UpstreamReason] of a provider that
	// refused for its rate limit.
	ReasonUpstreamRateLimited = "UPSTREAM_RATE_LIMITED"
	// ReasonUpstreamQuotaExhausted is [UpstreamReason] of a provider whose
	// account is out of credit.
	ReasonUpstreamQuotaExhausted = "UPSTREAM_QUOTA_EXHAUSTED"
)

// UpstreamReason is the ErrorInfo reason of a provider failure of the
// given kind ("rate_limited" → UPSTREAM_RATE_LIMITED).
func UpstreamReason(kind string) string { return "UPSTREAM_" + strings.ToUpper(kind) }

// Kind is what went wrong, in the gateway's terms; [Status] picks the
// gRPC code for it.
type Kind int

// The kinds of [Error].
const (
	// Internal is the gateway's own failure; the caller can do nothing.
	Internal Kind = iota
	// Unauthenticated is a call without a valid API key.
	Unauthenticated
	// Denied is an authenticated client asking for what it may not.
	Denied
	// Invalid is a request the gateway will never answer as sent.
	Invalid
	// Unavailable is a failure the caller may retry, here or elsewhere.
	Unavailable
	// Disabled is a feature this gateway does not serve.
	Disabled
)

// Error is a refusal of the gateway's own: a kind, an ErrorInfo reason
// with its metadata, and a message for the caller.
type Error struct {
	Kind     Kind
	Reason   string
	Message  string
	Metadata map[string]string
}

func (e *Error) Error() string { return e.Message }

// GRPCStatus is [Status] of e.
func (e *Error) GRPCStatus() *status.Status { return Status(e) }

// FieldError is a request field that failed validation.
type FieldError struct {
	// Field is the path of the field, e.g. "messages[0].role".
	Field string
	// Description says what is wrong with it.
	Description string
}

// InvalidRequestError lists every field of a request that failed
// validation.
type InvalidRequestError struct {
	Violations []FieldError
}

func (e *InvalidRequestError) Error() string {
	var b strings.Builder
	b.WriteString("invalid request: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Description)
	}
	return b.String()
}

// GRPCStatus is [Status] of e.
func (e *InvalidRequestError) GRPCStatus() *status.Status { return Status(e) }

// InvalidField is an [InvalidRequestError] about one field.
func InvalidField(field, description string) *InvalidRequestError {
	return &InvalidRequestError{Violations: []FieldError{{Field: field, Description: description}}}
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
	// Reason is the ErrorInfo reason, e.g. [ReasonUnknownResponse].
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

// GRPCStatus is [Status] of e.
func (e *NotFoundError) GRPCStatus() *status.Status { return Status(e) }

// StoreError is a backing store (Redis) that failed. [Status] maps it to
// Unavailable: the caller may retry. The store's own error, which may
// name internal hosts, is not shown.
type StoreError struct {
	// Store names the store, e.g. "experiments".
	Store string
	// Err is the store's error.
	Err error
}

func (e *StoreError) Error() string {
	if e.Err == nil {
		return e.Store + " store unavailable"
	}
	return e.Store + " store unavailable: " + e.Err.Error()
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

// GRPCStatus is [Status] of e.
func (e *StoreError) GRPCStatus() *status.Status { return Status(e) }

// RetryAfter is how long a caller refused for a rate or quota limit
// should wait, in whole seconds of at least one, as the Retry-After
// header says it.
func RetryAfter(d time.Duration) string {
	secs := int64(d.Seconds() + 0.999)
	return strconv.FormatInt(max(secs, 1), 10)
}
