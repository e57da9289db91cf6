package anthropic

import (
	"net/http"
	"strings"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Error types (error.type), as Anthropic's API reference lists them.
const (
	ErrInvalidRequest  = "invalid_request_error"
	ErrAuthentication  = "authentication_error"
	ErrBilling         = "billing_error"
	ErrPermission      = "permission_error"
	ErrNotFound        = "not_found_error"
	ErrRequestTooLarge = "request_too_large"
	ErrRateLimit       = "rate_limit_error"
	ErrAPI             = "api_error"
	ErrTimeout         = "timeout_error"
	ErrOverloaded      = "overloaded_error"
)

// errorTypes pairs each error type with its HTTP status.
var errorTypes = [...]struct {
	typ    string
	status int
}{
	{ErrInvalidRequest, http.StatusBadRequest},
	{ErrAuthentication, http.StatusUnauthorized},
	{ErrBilling, http.StatusPaymentRequired},
	{ErrPermission, http.StatusForbidden},
	{ErrNotFound, http.StatusNotFound},
	{ErrRequestTooLarge, http.StatusRequestEntityTooLarge},
	{ErrRateLimit, http.StatusTooManyRequests},
	{ErrAPI, http.StatusInternalServerError},
	{ErrTimeout, http.StatusGatewayTimeout},
	{ErrOverloaded, 529},
}

// StatusOf is the HTTP status Anthropic sends with an error type, or 0 for
// a type it does not list.
func StatusOf(errorType string) int {
	for _, t := range errorTypes {
		if t.typ == errorType {
			return t.status
		}
	}
	return 0
}

// TypeForStatus is the error type for an HTTP status: the listed pairs,
// any other 4xx an invalid request and any other 5xx (503 included) an API
// error.
func TypeForStatus(status int) string {
	for _, t := range errorTypes {
		if t.status == status {
			return t.typ
		}
	}
	if status < 500 {
		return ErrInvalidRequest
	}
	return ErrAPI
}

// ErrorObject is the error of an error body or event.
type ErrorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// IsContextLength reports whether an invalid_request_error message says
// the prompt (plus max_tokens) does not fit the context window, e.g.
// "prompt is too long: 215045 tokens > 200000 maximum" or "input length
// and `max_tokens` exceed context limit: 188240 + 21333 > 200000".
func IsContextLength(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "prompt is too long") ||
		strings.Contains(m, "exceed context limit") ||
		strings.Contains(m, "context window") ||
		strings.Contains(m, "context length")
}

// AppendJSON appends the error body {"type":"error","error":{...}}.
func (e *ErrorObject) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"error","error":{"type":`...)
	b = wirejson.AppendString(b, e.Type)
	b = append(b, `,"message":`...)
	b = wirejson.AppendString(b, e.Message)
	return append(b, "}}"...)
}
