package gemini

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// ErrorBody is the body of a failed call: {"error": {...}}.
type ErrorBody struct {
	Error *Status `json:"error"`
}

// Status is a google.rpc.Status as the JSON API renders it.
type Status struct {
	// Code is the HTTP status.
	Code int `json:"code"`
	// Message is a developer-facing description.
	Message string `json:"message"`
	// Status is the canonical code name, e.g. RESOURCE_EXHAUSTED.
	Status  string   `json:"status"`
	Details []Detail `json:"details,omitempty"`
}

// Type URLs of the details this package reads.
const (
	TypeRetryInfo    = "type.googleapis.com/google.rpc.RetryInfo"
	TypeErrorInfo    = "type.googleapis.com/google.rpc.ErrorInfo"
	TypeBadRequest   = "type.googleapis.com/google.rpc.BadRequest"
	TypeQuotaFailure = "type.googleapis.com/google.rpc.QuotaFailure"
)

// Detail is one element of Status.details: the union of the detail types
// this package reads, told apart by Type.
type Detail struct {
	Type string `json:"@type"`
	// RetryInfo.
	RetryDelay string `json:"retryDelay,omitempty"`
	// ErrorInfo.
	Reason   string            `json:"reason,omitempty"`
	Domain   string            `json:"domain,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// BadRequest.
	FieldViolations []FieldViolation `json:"fieldViolations,omitempty"`
	// QuotaFailure.
	Violations []QuotaViolation `json:"violations,omitempty"`
}

// FieldViolation names a request field that was wrong.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// QuotaViolation names an exhausted quota.
type QuotaViolation struct {
	QuotaMetric string `json:"quotaMetric,omitempty"`
	QuotaID     string `json:"quotaId,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Description string `json:"description,omitempty"`
}

// Canonical status names.
const (
	StatusInvalidArgument    = "INVALID_ARGUMENT"
	StatusFailedPrecondition = "FAILED_PRECONDITION"
	StatusPermissionDenied   = "PERMISSION_DENIED"
	StatusUnauthenticated    = "UNAUTHENTICATED"
	StatusNotFound           = "NOT_FOUND"
	StatusResourceExhausted  = "RESOURCE_EXHAUSTED"
	StatusInternal           = "INTERNAL"
	StatusUnavailable        = "UNAVAILABLE"
	StatusDeadlineExceeded   = "DEADLINE_EXCEEDED"
)

// ReasonAPIKeyInvalid is the ErrorInfo reason of a rejected API key, which
// the API reports with HTTP 400.
const ReasonAPIKeyInvalid = "API_KEY_INVALID"

// HTTPStatus is the HTTP status a canonical status name stands for, 0 when
// unknown.
func HTTPStatus(status string) int {
	switch status {
	case StatusInvalidArgument, StatusFailedPrecondition:
		return http.StatusBadRequest
	case StatusUnauthenticated:
		return http.StatusUnauthorized
	case StatusPermissionDenied:
		return http.StatusForbidden
	case StatusNotFound:
		return http.StatusNotFound
	case StatusResourceExhausted:
		return http.StatusTooManyRequests
	case StatusInternal:
		return http.StatusInternalServerError
	case StatusUnavailable:
		return http.StatusServiceUnavailable
	case StatusDeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return 0
}

// RetryDelay is the delay of the RetryInfo detail, 0 when there is none
// or it does not parse. The JSON form of a Duration is seconds with an
// "s" suffix, e.g. "38s" or "1.5s".
func (s *Status) RetryDelay() time.Duration {
	for _, d := range s.Details {
		if d.Type != TypeRetryInfo {
			continue
		}
		v, err := time.ParseDuration(strings.TrimSpace(d.RetryDelay))
		if err == nil && v > 0 {
			return v
		}
	}
	return 0
}

// Reason is the reason of the ErrorInfo detail, "" when there is none.
func (s *Status) Reason() string {
	for _, d := range s.Details {
		if d.Type == TypeErrorInfo && d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// FieldViolations lists the BadRequest details' violations.
func (s *Status) FieldViolations() []FieldViolation {
	var out []FieldViolation
	for _, d := range s.Details {
		if d.Type == TypeBadRequest {
			out = append(out, d.FieldViolations...)
		}
	}
	return out
}

// IsContextLength reports whether an INVALID_ARGUMENT message says the
// prompt does not fit the model's context window.
func IsContextLength(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "exceeds the maximum number of tokens") ||
		strings.Contains(m, "input token count") && strings.Contains(m, "exceeds")
}

// NewError is the body of an error of status with message and details.
func NewError(code int, status, message string, details ...Detail) []byte {
	b, _ := json.Marshal(ErrorBody{Error: &Status{Code: code, Message: message, Status: status, Details: details}})
	return b
}
