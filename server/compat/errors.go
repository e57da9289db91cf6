package compat

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
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
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	e := &apiError{status: runtime.HTTPStatusFromCode(st.Code()), message: st.Message()}
	if st.Code() == codes.Canceled && errors.Is(err, context.Canceled) {
		e.message = "the request was canceled"
	}
	var reason, kind string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason, kind = d.GetReason(), d.GetMetadata()["kind"]
		case *errdetails.BadRequest:
			if fv := d.GetFieldViolations(); len(fv) > 0 && e.param == "" {
				e.param = fv[0].GetField()
			}
		case *errdetails.RetryInfo:
			if rd := d.GetRetryDelay(); rd != nil && e.retryAfter == "" {
				secs := int64(rd.AsDuration().Seconds() + 0.999)
				e.retryAfter = strconv.FormatInt(max(secs, 1), 10)
			}
		}
	}
	if v := hdr.Get("retry-after"); len(v) > 0 {
		e.retryAfter = v[0]
	}
	e.code = strings.ToLower(reason)
	switch reason {
	case "UNKNOWN_ROUTE", "UNKNOWN_MODEL":
		e.status, e.code, e.param = http.StatusNotFound, openaiwire.CodeModelNotFound, "model"
	case "QUOTA_EXCEEDED":
		switch {
		case strings.HasPrefix(kind, "usd_"):
			e.openAIType, e.code = openaiwire.TypeInsufficientQuota, openaiwire.CodeInsufficientQuota
		case strings.HasPrefix(kind, "tokens"):
			e.openAIType, e.code = openaiwire.TypeTokens, openaiwire.CodeRateLimitExceeded
		default:
			e.openAIType, e.code = openaiwire.TypeRequests, openaiwire.CodeRateLimitExceeded
		}
	case "UPSTREAM_RATE_LIMITED":
		e.openAIType, e.code = openaiwire.TypeRequests, openaiwire.CodeRateLimitExceeded
	case "UPSTREAM_QUOTA_EXHAUSTED":
		// The provider's account is out of credit: OpenAI's own words.
		e.openAIType, e.code = openaiwire.TypeInsufficientQuota, openaiwire.CodeInsufficientQuota
	}
	return e
}

// openAIErrorType is the "type" of OpenAI's error object for e.
func (e *apiError) openAIErrorType() string {
	if e.openAIType != "" {
		return e.openAIType
	}
	return openaiwire.TypeForStatus(e.status)
}

// anthropicErrorType is the "type" of Anthropic's error object for the
// HTTP status. The gateway answers 503 when no provider could (its
// Unavailable): SDKs retry an overloaded_error, as they should here.
func anthropicErrorType(status int) string {
	if status == http.StatusServiceUnavailable {
		return anthropicwire.ErrOverloaded
	}
	return anthropicwire.TypeForStatus(status)
}

// openAIError is e as OpenAI's error object.
func (e *apiError) openAIError() *openaiwire.ErrorObject {
	return &openaiwire.ErrorObject{Message: e.message, Type: e.openAIErrorType(), Param: e.param, Code: e.code}
}

// anthropicError is e as Anthropic's error object.
func (e *apiError) anthropicError() *anthropicwire.ErrorObject {
	return &anthropicwire.ErrorObject{Type: anthropicErrorType(e.status), Message: e.message}
}

// appendOpenAIError appends OpenAI's error body,
// {"error":{"message","type","param","code"}}.
func appendOpenAIError(b []byte, e *apiError) []byte { return e.openAIError().AppendJSON(b) }

// appendAnthropicError appends Anthropic's error body,
// {"type":"error","error":{"type","message"}}.
func appendAnthropicError(b []byte, e *apiError) []byte { return e.anthropicError().AppendJSON(b) }

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
