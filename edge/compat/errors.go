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
		e.status, e.code, e.param = http.StatusNotFound, openaiwire.CodeModelNotFound, "model"
	case gwerr.ReasonQuotaExceeded:
		switch kind := d.Metadata["kind"]; {
		case strings.HasPrefix(kind, "usd_"):
			e.openAIType, e.code = openaiwire.TypeInsufficientQuota, openaiwire.CodeInsufficientQuota
		case strings.HasPrefix(kind, "tokens"):
			e.openAIType, e.code = openaiwire.TypeTokens, openaiwire.CodeRateLimitExceeded
		default:
			e.openAIType, e.code = openaiwire.TypeRequests, openaiwire.CodeRateLimitExceeded
		}
	case gwerr.ReasonUpstreamRateLimited:
		e.openAIType, e.code = openaiwire.TypeRequests, openaiwire.CodeRateLimitExceeded
	case gwerr.ReasonUpstreamQuotaExhausted:
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
	if d != anthropic {
		b = appendOpenAIError(make([]byte, 0, 128+len(e.message)), e)
	} else {
		b = appendAnthropicError(make([]byte, 0, 96+len(e.message)), e)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
