package compat

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/providers/wirejson"
)

// apiError is a failure as both APIs report it: an HTTP status and a
// message, plus what OpenAI's error object adds (param, code, type).
// Anthropic's error type follows from the status.
type apiError struct {
	status  int
	message string
	// param is the request field at fault, e.g. "messages[1].content".
	param string
	// code is OpenAI's machine-readable code, e.g. "model_not_found".
	code string
	// openAIType overrides the OpenAI error type the status implies.
	openAIType string
	// retryAfter is the Retry-After header value in seconds, if any.
	retryAfter string
}

func (e *apiError) Error() string { return e.message }

// badRequest is a 400 about one request field.
func badRequest(param, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, message: msg}
}

// fromError maps the gRPC call's error, and the header metadata it came
// with, to the HTTP answer. The status's ErrorInfo, BadRequest and
// RetryInfo details refine it: an unknown route or model is 404
// model_not_found, a refused quota says which limit in OpenAI's rate-limit
// error types, and a back-off becomes Retry-After.
func fromError(err error, hdr metadata.MD) *apiError {
	st := gwerr.Status(err)
	e := &apiError{status: runtime.HTTPStatusFromCode(st.Code()), message: st.Message()}
	if st.Code() == codes.Canceled && errors.Is(err, context.Canceled) {
		e.message = "the request was canceled"
	}
	d := gwerr.DetailsOf(st)
	e.param = d.Field
	if d.RetryDelay != nil {
		e.retryAfter = gwerr.RetryAfter(d.RetryDelay.AsDuration())
	}
	if v := hdr.Get("retry-after"); len(v) > 0 {
		e.retryAfter = v[0]
	}
	e.code = strings.ToLower(d.Reason)
	switch d.Reason {
	case gwerr.ReasonUnknownRoute, gwerr.ReasonUnknownModel:
		e.status, e.code, e.param = http.StatusNotFound, "model_not_found", "model"
	case gwerr.ReasonQuotaExceeded:
		switch kind := d.Metadata["kind"]; {
		case strings.HasPrefix(kind, "usd_"):
			e.openAIType, e.code = "insufficient_quota", "insufficient_quota"
		case strings.HasPrefix(kind, "tokens"):
			e.openAIType, e.code = "tokens", "rate_limit_exceeded"
		default:
			e.openAIType, e.code = "requests", "rate_limit_exceeded"
		}
	case gwerr.ReasonUpstreamRateLimited:
		e.openAIType, e.code = "requests", "rate_limit_exceeded"
	}
	return e
}

// openAIErrorType is the "type" of OpenAI's error object for e.
func (e *apiError) openAIErrorType() string {
	switch {
	case e.openAIType != "":
		return e.openAIType
	case e.status == http.StatusTooManyRequests:
		return "requests"
	case e.status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// anthropicErrorType is the "type" of Anthropic's error object for the
// HTTP status, as Anthropic's API reference lists them.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusConflict, http.StatusUnprocessableEntity:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	}
	if status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

// appendOpenAIError appends OpenAI's error object,
// {"error":{"message","type","param","code"}}.
func appendOpenAIError(b []byte, e *apiError) []byte {
	b = append(b, `{"error":{"message":`...)
	b = wirejson.AppendString(b, e.message)
	b = append(b, `,"type":`...)
	b = wirejson.AppendString(b, e.openAIErrorType())
	b = append(b, `,"param":`...)
	b = appendStringOrNull(b, e.param)
	b = append(b, `,"code":`...)
	b = appendStringOrNull(b, e.code)
	return append(b, "}}"...)
}

// appendAnthropicError appends Anthropic's error object,
// {"type":"error","error":{"type","message"}}.
func appendAnthropicError(b []byte, e *apiError) []byte {
	b = append(b, `{"type":"error","error":{"type":`...)
	b = wirejson.AppendString(b, anthropicErrorType(e.status))
	b = append(b, `,"message":`...)
	b = wirejson.AppendString(b, e.message)
	return append(b, "}}"...)
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return wirejson.AppendString(b, s)
}

// writeError answers with e in API d's error shape.
func writeError(w http.ResponseWriter, d dialect, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter != "" {
		h.Set("Retry-After", e.retryAfter)
	}
	var b []byte
	if d == openAI {
		b = appendOpenAIError(make([]byte, 0, 128+len(e.message)), e)
	} else {
		b = appendAnthropicError(make([]byte, 0, 96+len(e.message)), e)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
