package sim

import (
	"net/http"
	"strconv"

	"github.com/careerpath/llmgateway/providers/wirejson"
)

// wireFormat is the vendor dialect of one endpoint.
type wireFormat uint8

const (
	formatOpenAI wireFormat = iota
	formatAnthropic
)

// apiError is an error body in vendor-neutral form; writeAPIError renders it
// in the right wire format.
type apiError struct {
	status int
	// typ is OpenAI's error.type or Anthropic's error.type.
	typ string
	// code and param are OpenAI's error.code and error.param; empty is null.
	code, param string
	message     string
}

// writeAPIError writes e as OpenAI
// {"error":{"message","type","param","code"}} or Anthropic
// {"type":"error","error":{"type","message"}}, with Retry-After when
// retryAfter is not empty.
func writeAPIError(w http.ResponseWriter, f wireFormat, e apiError, retryAfter string) {
	bp := getBuf()
	defer putBuf(bp)
	b := appendAPIError((*bp)[:0], f, e)
	h := w.Header()
	h["Content-Type"] = hdrJSON
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
	*bp = b
}

func appendAPIError(b []byte, f wireFormat, e apiError) []byte {
	if f == formatAnthropic {
		b = append(b, `{"type":"error","error":{"type":`...)
		b = wirejson.AppendString(b, e.typ)
		b = append(b, `,"message":`...)
		b = wirejson.AppendString(b, e.message)
		return append(b, "}}"...)
	}
	b = append(b, `{"error":{"message":`...)
	b = wirejson.AppendString(b, e.message)
	b = append(b, `,"type":`...)
	b = wirejson.AppendString(b, e.typ)
	b = append(b, `,"param":`...)
	b = appendNullableString(b, e.param)
	b = append(b, `,"code":`...)
	b = appendNullableString(b, e.code)
	return append(b, "}}"...)
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return wirejson.AppendString(b, s)
}

// badRequest is a 400 invalid_request_error in either format.
func badRequest(message, param, code string) apiError {
	return apiError{status: http.StatusBadRequest, typ: "invalid_request_error", message: message, param: param, code: code}
}

// statusError is the vendor's error for an HTTP status, as a fault
// injects it.
func statusError(f wireFormat, status int, model string) apiError {
	e := apiError{status: status}
	if f == formatAnthropic {
		switch {
		case status == 401:
			e.typ, e.message = "authentication_error", "invalid x-api-key"
		case status == 402:
			e.typ, e.message = "billing_error", "Your credit balance is too low to access the Anthropic API."
		case status == 403:
			e.typ, e.message = "permission_error", "Your API key does not have permission to use the specified resource."
		case status == 404:
			e.typ, e.message = "not_found_error", "model: "+model
		case status == 413:
			e.typ, e.message = "request_too_large", "Request exceeds the maximum allowed number of bytes."
		case status == 429:
			e.typ, e.message = "rate_limit_error", "This request would exceed your organization's rate limit. Please try again later."
		case status == 504:
			e.typ, e.message = "timeout_error", "Request timed out."
		case status == 529:
			e.typ, e.message = "overloaded_error", "Overloaded"
		case status >= 500:
			e.typ, e.message = "api_error", "Internal server error"
		default:
			e.typ, e.message = "invalid_request_error", "Simulated invalid request."
		}
		return e
	}
	switch {
	case status == 401:
		e.typ, e.code, e.message = "invalid_request_error", "invalid_api_key", "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
	case status == 403:
		e.typ, e.code, e.message = "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"
	case status == 404:
		e.typ, e.code, e.message = "invalid_request_error", "model_not_found", "The model `"+model+"` does not exist or you do not have access to it."
	case status == 429:
		e.typ, e.code, e.message = "requests", "rate_limit_exceeded", "Rate limit reached for "+model+" in organization org-sim on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more."
	case status == 503 || status == 529:
		e.typ, e.message = "server_error", "The server is overloaded or not ready yet."
	case status >= 500:
		e.typ, e.message = "server_error", "The server had an error while processing your request. Sorry about that!"
	default:
		e.typ, e.message = "invalid_request_error", "Simulated invalid request."
	}
	return e
}

// quotaError is the vendor's answer to an account out of credit: OpenAI's
// 429 insufficient_quota, Anthropic's 402 billing_error.
func quotaError(f wireFormat) apiError {
	if f == formatAnthropic {
		return statusError(f, http.StatusPaymentRequired, "")
	}
	return apiError{status: http.StatusTooManyRequests, typ: "insufficient_quota", code: "insufficient_quota",
		message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."}
}

// contextLengthError is the vendor's "prompt too long" 400.
func contextLengthError(f wireFormat, inputTokens int) apiError {
	if f == formatAnthropic {
		total := 200000 + inputTokens
		return badRequest("prompt is too long: "+strconv.Itoa(total)+" tokens > 200000 maximum", "", "")
	}
	total := 128000 + inputTokens
	return badRequest("This model's maximum context length is 128000 tokens. However, your messages resulted in "+
		strconv.Itoa(total)+" tokens. Please reduce the length of the messages.", "messages", "context_length_exceeded")
}

// authError is the vendor's 401 for a missing or wrong key.
func authError(f wireFormat, missing bool) apiError {
	e := apiError{status: http.StatusUnauthorized}
	switch {
	case f == formatAnthropic && missing:
		e.typ, e.message = "authentication_error", "x-api-key header is required"
	case f == formatAnthropic:
		e.typ, e.message = "authentication_error", "invalid x-api-key"
	case missing:
		e.typ, e.message = "invalid_request_error", "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
	default:
		e.typ, e.code, e.message = "invalid_request_error", "invalid_api_key", "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
	}
	return e
}
