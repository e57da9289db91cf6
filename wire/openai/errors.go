package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Error types (error.type) OpenAI sends. Rate-limit errors name the limit
// that was hit as their type.
const (
	TypeInvalidRequest    = "invalid_request_error"
	TypeAuthentication    = "authentication_error"
	TypeServer            = "server_error"
	TypeRequests          = "requests"
	TypeTokens            = "tokens"
	TypeInsufficientQuota = "insufficient_quota"
	TypeRequestForbidden  = "request_forbidden"
)

// Error codes (error.code) OpenAI sends.
const (
	CodeInvalidAPIKey         = "invalid_api_key"
	CodeModelNotFound         = "model_not_found"
	CodeRateLimitExceeded     = "rate_limit_exceeded"
	CodeInsufficientQuota     = "insufficient_quota"
	CodeContextLengthExceeded = "context_length_exceeded"
	CodeUnsupportedRegion     = "unsupported_country_region_territory"
)

// ErrorObject is OpenAI's error object. Empty Param and Code are sent as
// null.
type ErrorObject struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"param"`
	Code    string `json:"code"`
}

// ErrorResponse is an error body, {"error": {...}}.
type ErrorResponse struct {
	Error ErrorObject `json:"error"`
}

// MarshalJSON implements json.Marshaler, writing empty Param and Code as
// null.
func (e ErrorObject) MarshalJSON() ([]byte, error) {
	return e.appendObject(nil), nil
}

// AppendJSON appends the error body {"error": {...}}.
func (e *ErrorObject) AppendJSON(b []byte) []byte {
	b = append(b, `{"error":`...)
	b = e.appendObject(b)
	return append(b, '}')
}

func (e *ErrorObject) appendObject(b []byte) []byte {
	b = append(b, `{"message":`...)
	b = wirejson.AppendString(b, e.Message)
	b = append(b, `,"type":`...)
	b = wirejson.AppendString(b, e.Type)
	b = append(b, `,"param":`...)
	b = appendStringOrNull(b, e.Param)
	b = append(b, `,"code":`...)
	b = appendStringOrNull(b, e.Code)
	return append(b, '}')
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return wirejson.AppendString(b, s)
}

// TypeForStatus is the error.type OpenAI reports with an HTTP status.
func TypeForStatus(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return TypeRequests
	case status >= 500:
		return TypeServer
	}
	return TypeInvalidRequest
}

// StatusOf is the HTTP status an error's code or type stands for, for
// errors that arrive without one (inside a 2xx body or a stream), or 0
// when it names none. Compatible hosts send numeric codes, which are
// taken as statuses.
func StatusOf(codeOrType string) int {
	switch strings.ToLower(codeOrType) {
	case "":
		return 0
	case CodeRateLimitExceeded, "rate_limit_error", TypeRequests, TypeTokens, CodeInsufficientQuota:
		return http.StatusTooManyRequests
	case "overloaded", "overloaded_error", "service_unavailable", "engine_overloaded":
		return http.StatusServiceUnavailable
	case TypeServer, "api_error", "internal_error", "internal_server_error":
		return http.StatusInternalServerError
	case "timeout", "request_timeout":
		return http.StatusRequestTimeout
	case CodeInvalidAPIKey, TypeAuthentication, "unauthorized":
		return http.StatusUnauthorized
	case "permission_error", "permission_denied", "forbidden":
		return http.StatusForbidden
	case TypeInvalidRequest, CodeModelNotFound, "not_found_error", "badrequesterror", "bad_request":
		return http.StatusBadRequest
	}
	if n, err := strconv.Atoi(codeOrType); err == nil && n >= 400 && n <= 599 {
		return n
	}
	return 0
}

// IsContextLength reports an over-long prompt: OpenAI's code, or the
// message vLLM and other compatible hosts send with a plain 400.
func (e *ErrorObject) IsContextLength() bool {
	return e.Code == CodeContextLengthExceeded ||
		strings.Contains(strings.ToLower(e.Message), "maximum context length")
}

// CodeOrType is the error's machine-readable identifier: its code, else
// its type.
func (e *ErrorObject) CodeOrType() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Type
}

// errorEnvelope covers the error bodies seen in the wild.
type errorEnvelope struct {
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Code    json.RawMessage `json:"code"`
	Detail  json.RawMessage `json:"detail"`
}

type errorFields struct {
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

// ParseError reads an error body leniently: OpenAI's {"error": {...}},
// {"error": "message"}, vLLM's unwrapped {"object":"error","message",...}
// or FastAPI's {"detail": ...}; numeric codes become their digits. ok is
// false when body is not a JSON object.
func ParseError(body []byte) (e ErrorObject, ok bool) {
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return e, false
	}
	if e, ok := ParseErrorValue(env.Error); ok {
		return e, true
	}
	e = ErrorObject{Message: scalar(env.Message), Type: scalar(env.Type), Code: scalar(env.Code)}
	if e.Message == "" {
		e.Message = scalar(env.Detail)
	}
	return e, true
}

// ParseErrorValue reads the value of an "error" field: the error object
// or a bare message string. ok is false when raw is neither.
func ParseErrorValue(raw json.RawMessage) (e ErrorObject, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return e, false
	}
	switch raw[0] {
	case '{':
		var f errorFields
		if json.Unmarshal(raw, &f) != nil {
			return e, false
		}
		return ErrorObject{Message: scalar(f.Message), Type: scalar(f.Type), Param: scalar(f.Param), Code: scalar(f.Code)}, true
	case '"':
		return ErrorObject{Message: scalar(raw)}, true
	}
	return e, false
}

// scalar returns a JSON string's value or a number's literal; "" otherwise.
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case c == '-' || c >= '0' && c <= '9':
		return string(raw)
	}
	return ""
}

// errErrorValue is the decoding error of an error value that is neither
// an object, a string nor null.
var errErrorValue = errors.New("error must be an object or a string")

// UnmarshalJSON implements json.Unmarshaler, leniently as
// [ParseErrorValue].
func (e *ErrorObject) UnmarshalJSON(b []byte) error {
	v, ok := ParseErrorValue(b)
	if !ok && string(bytes.TrimSpace(b)) != "null" {
		return errErrorValue
	}
	*e = v
	return nil
}

// IsQuotaExhausted reports OpenAI's insufficient_quota: the account is out
// of credit, which a 429 status alone does not tell from a rate limit.
func (e *ErrorObject) IsQuotaExhausted() bool {
	return e.Code == CodeInsufficientQuota || e.Type == TypeInsufficientQuota
}
