package sim

import (
	"net/http"
	"strconv"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
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
		o := anthropicwire.ErrorObject{Type: e.typ, Message: e.message}
		return o.AppendJSON(b)
	}
	o := openaiwire.ErrorObject{Message: e.message, Type: e.typ, Param: e.param, Code: e.code}
	return o.AppendJSON(b)
}

// badRequest is a 400 invalid_request_error in either format.
func badRequest(message, param, code string) apiError {
	return apiError{status: http.StatusBadRequest, typ: openaiwire.TypeInvalidRequest, message: message, param: param, code: code}
}

// statusError is the vendor's error for an HTTP status, as a fault
// injects it.
func statusError(f wireFormat, status int, model string) apiError {
	e := apiError{status: status}
	if f == formatAnthropic {
		e.typ = anthropicwire.TypeForStatus(status)
		switch e.typ {
		case anthropicwire.ErrAuthentication:
			e.message = "invalid x-api-key"
		case anthropicwire.ErrBilling:
			e.message = "Your credit balance is too low to access the Anthropic API."
		case anthropicwire.ErrPermission:
			e.message = "Your API key does not have permission to use the specified resource."
		case anthropicwire.ErrNotFound:
			e.message = "model: " + model
		case anthropicwire.ErrRequestTooLarge:
			e.message = "Request exceeds the maximum allowed number of bytes."
		case anthropicwire.ErrRateLimit:
			e.message = "This request would exceed your organization's rate limit. Please try again later."
		case anthropicwire.ErrTimeout:
			e.message = "Request timed out."
		case anthropicwire.ErrOverloaded:
			e.message = "Overloaded"
		case anthropicwire.ErrAPI:
			e.message = "Internal server error"
		default:
			e.message = "Simulated invalid request."
		}
		return e
	}
	e.typ = openaiwire.TypeForStatus(status)
	switch {
	case status == 401:
		e.code, e.message = openaiwire.CodeInvalidAPIKey, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
	case status == 403:
		e.typ, e.code, e.message = openaiwire.TypeRequestForbidden, openaiwire.CodeUnsupportedRegion, "Country, region, or territory not supported"
	case status == 404:
		e.code, e.message = openaiwire.CodeModelNotFound, "The model `"+model+"` does not exist or you do not have access to it."
	case status == 429:
		e.code, e.message = openaiwire.CodeRateLimitExceeded, "Rate limit reached for "+model+" in organization org-sim on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more."
	case status == 503 || status == 529:
		e.message = "The server is overloaded or not ready yet."
	case status >= 500:
		e.message = "The server had an error while processing your request. Sorry about that!"
	default:
		e.message = "Simulated invalid request."
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
		strconv.Itoa(total)+" tokens. Please reduce the length of the messages.", "messages", openaiwire.CodeContextLengthExceeded)
}

// authError is the vendor's 401 for a missing or wrong key.
func authError(f wireFormat, missing bool) apiError {
	e := apiError{status: http.StatusUnauthorized}
	switch {
	case f == formatAnthropic && missing:
		e.typ, e.message = anthropicwire.ErrAuthentication, "x-api-key header is required"
	case f == formatAnthropic:
		e.typ, e.message = anthropicwire.ErrAuthentication, "invalid x-api-key"
	case missing:
		e.typ, e.message = openaiwire.TypeInvalidRequest, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
	default:
		e.typ, e.code, e.message = openaiwire.TypeInvalidRequest, openaiwire.CodeInvalidAPIKey, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
	}
	return e
}
