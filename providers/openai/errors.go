package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/careerpath/llmgateway/providers"
)

// authMessage replaces the vendor's text on 401/403: OpenAI echoes part of
// a rejected key in it.
const authMessage = "provider rejected the gateway's credentials"

// maxExcerpt bounds the upstream text copied into an error message.
const maxExcerpt = 200

// upstreamError is OpenAI's error object, {"message","type","param","code"},
// read leniently: compatible hosts send numeric codes, a bare string or
// vLLM's unwrapped {"object":"error",...}.
type upstreamError struct {
	message string
	typ     string
	code    string
}

// errorEnvelope covers the error bodies seen in the wild.
type errorEnvelope struct {
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Code    json.RawMessage `json:"code"`
	Detail  json.RawMessage `json:"detail"`
}

type errorObject struct {
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// parseUpstreamError reads an error body. ok is false when body is not a
// JSON object.
func parseUpstreamError(body []byte) (u upstreamError, ok bool) {
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return u, false
	}
	if u, ok := errorValue(env.Error); ok {
		return u, true
	}
	u = upstreamError{scalar(env.Message), scalar(env.Type), scalar(env.Code)}
	if u.message == "" {
		u.message = scalar(env.Detail)
	}
	return u, true
}

// errorValue reads the value of an "error" field: OpenAI's object or a bare
// message string. ok is false when raw is neither.
func errorValue(raw json.RawMessage) (u upstreamError, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return u, false
	}
	switch raw[0] {
	case '{':
		var obj errorObject
		if json.Unmarshal(raw, &obj) != nil {
			return u, false
		}
		return upstreamError{scalar(obj.Message), scalar(obj.Type), scalar(obj.Code)}, true
	case '"':
		return upstreamError{message: scalar(raw)}, true
	}
	return u, false
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

// codeOrType is the machine-readable identifier of an upstream error.
func (u upstreamError) codeOrType() string {
	if u.code != "" {
		return u.code
	}
	return u.typ
}

// isQuotaExhausted reports OpenAI's insufficient_quota: the account is
// out of credit, which a 429 status alone does not tell from a rate limit.
func (u upstreamError) isQuotaExhausted() bool {
	return u.code == "insufficient_quota" || u.typ == "insufficient_quota"
}

// isContextLength reports an over-long prompt: OpenAI's code, or the
// message vLLM and other compatible hosts send with a plain 400.
func (u upstreamError) isContextLength() bool {
	return u.code == "context_length_exceeded" ||
		strings.Contains(strings.ToLower(u.message), "maximum context length")
}

// statusError maps a non-2xx response to an error. It reads at most
// maxErrorBytes of the body.
func (p *Provider) statusError(resp *http.Response) *providers.Error {
	status := resp.StatusCode
	e := &providers.Error{
		Kind:       providers.StatusKind(status),
		Provider:   p.name,
		StatusCode: status,
		RetryAfter: retryAfter(resp.Header, time.Now()),
	}
	if e.Kind == providers.KindUnknown {
		// 1xx/3xx that the client did not follow: nothing usable.
		e.Kind = providers.KindMalformed
	}
	// A read error leaves whatever arrived; the status decides anyway.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	u, isJSON := parseUpstreamError(body)

	if e.Kind == providers.KindAuth {
		e.Message = authMessage
		e.Code = p.safeCode(u.codeOrType())
		return e
	}
	if !isJSON && len(bytes.TrimSpace(body)) == 0 {
		// No body at all (or it never arrived): the status is all there is.
		e.Message = http.StatusText(status)
		return e
	}
	if !isJSON {
		// An HTML page from a proxy or load balancer. Statuses that carry a
		// precise meaning of their own (429, 503/529, 408/504, 413) keep
		// it; a generic 4xx/5xx says no more than "not the API talking".
		switch e.Kind {
		case providers.KindBadRequest, providers.KindServer:
			e.Kind = providers.KindMalformed
		}
		e.Message = p.excerptMessage("error response is not JSON", body)
		return e
	}
	if e.Kind == providers.KindBadRequest && u.isContextLength() {
		e.Kind = providers.KindContextLength
	}
	if u.isQuotaExhausted() {
		// A 429 about billing, not rate: waiting does not help.
		e.Kind = providers.KindQuotaExhausted
	}
	e.Code = p.safeCode(u.codeOrType())
	e.Message = p.sanitize(u.message)
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// inBandError maps an error object that arrived inside a 2xx body or an
// event stream, where there is no HTTP status to go by.
func (p *Provider) inBandError(raw json.RawMessage, status int) *providers.Error {
	u, _ := errorValue(raw)
	return p.upstreamErr(u, status)
}

// upstreamErr maps an error object by its code and type.
func (p *Provider) upstreamErr(u upstreamError, status int) *providers.Error {
	e := &providers.Error{Kind: inBandKind(u), Provider: p.name, StatusCode: status}
	e.Code = p.safeCode(u.codeOrType())
	if e.Kind == providers.KindAuth {
		e.Message = authMessage
		return e
	}
	e.Message = p.sanitize(u.message)
	if e.Message == "" {
		e.Message = "upstream reported an error"
	}
	return e
}

// inBandKind classifies an error object by its code and type.
func inBandKind(u upstreamError) providers.ErrorKind {
	if u.isContextLength() {
		return providers.KindContextLength
	}
	if u.isQuotaExhausted() {
		return providers.KindQuotaExhausted
	}
	for _, s := range [...]string{u.code, u.typ} {
		switch strings.ToLower(s) {
		case "":
			continue
		case "rate_limit_exceeded", "rate_limit_error", "requests", "tokens", "429":
			return providers.KindRateLimited
		case "overloaded", "overloaded_error", "service_unavailable", "engine_overloaded", "503", "529":
			return providers.KindOverloaded
		case "server_error", "api_error", "internal_error", "internal_server_error":
			return providers.KindServer
		case "timeout", "request_timeout":
			return providers.KindTimeout
		case "invalid_api_key", "authentication_error", "permission_error", "permission_denied", "unauthorized", "forbidden":
			return providers.KindAuth
		case "invalid_request_error", "model_not_found", "not_found_error", "badrequesterror", "bad_request":
			return providers.KindBadRequest
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 400 && n <= 599 {
			return providers.StatusKind(n)
		}
	}
	return providers.KindServer
}

// retryAfter reads retry-after-ms (OpenAI's, more precise) or Retry-After.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms <= 1e10 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	return providers.ParseRetryAfter(h.Get("Retry-After"), now)
}

// malformed builds a KindMalformed error with a short excerpt of body.
func (p *Provider) malformed(status int, what string, body []byte) *providers.Error {
	return &providers.Error{
		Kind:       providers.KindMalformed,
		Provider:   p.name,
		StatusCode: status,
		Message:    p.excerptMessage(what, body),
	}
}

// excerptMessage is what followed by a sanitized excerpt of body: an HTML
// page's title when it has one, else its first bytes.
func (p *Provider) excerptMessage(what string, body []byte) string {
	ex := p.sanitize(string(htmlTitle(body)))
	if ex == "" {
		return what
	}
	return what + ": " + strconv.Quote(ex)
}

// htmlTitle returns the contents of body's <title> element, or body itself.
// The tags are looked for in the first 4 KiB, ignoring ASCII case.
func htmlTitle(body []byte) []byte {
	if i := indexASCIIFold(body[:min(len(body), 4096)], "<title>"); i >= 0 {
		rest := body[i+len("<title>"):]
		if j := indexASCIIFold(rest[:min(len(rest), 4096)], "</title>"); j >= 0 {
			return rest[:j]
		}
	}
	return body
}

// indexASCIIFold is the index of the lower-case ASCII needle in s, ignoring
// ASCII case, or -1. Unlike lower-casing s first, it keeps every index
// valid in s, whatever bytes (invalid UTF-8 included) s holds.
func indexASCIIFold(s []byte, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		j := 0
		for ; j < len(needle); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == len(needle) {
			return i
		}
	}
	return -1
}

// sanitize makes upstream text safe for an error message: the API key
// removed (also a trailing fragment of it cut by truncation), whitespace
// and control characters collapsed, at most maxExcerpt bytes of valid
// UTF-8.
func (p *Provider) sanitize(s string) string {
	if p.key != "" {
		s = strings.ReplaceAll(s, p.key, "[redacted]")
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = b.Len() > 0
			continue
		}
		n := utf8.RuneLen(r)
		if space {
			n++
		}
		if b.Len()+n > maxExcerpt {
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if k := p.key; k != "" {
		for n := min(len(k)-1, len(out)); n >= 4; n-- {
			if strings.HasSuffix(out, k[:n]) {
				out = strings.TrimRight(out[:len(out)-n], " ")
				break
			}
		}
	}
	return out
}

// safeCode returns code if it is a short identifier that is not the key.
func (p *Provider) safeCode(code string) string {
	if code == "" || len(code) > 64 || (p.key != "" && strings.Contains(code, p.key)) || strings.HasPrefix(code, "sk-") {
		return ""
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return ""
		}
	}
	return code
}

// transportError classifies a failure to send or read. ctx is the caller's
// context, so that a per-attempt timeout reads as KindTimeout.
func (p *Provider) transportError(ctx context.Context, err error) *providers.Error {
	if p.key != "" && strings.Contains(err.Error(), p.key) {
		err = &redactedError{err: err, key: p.key}
	}
	return providers.TransportError(ctx, p.name, err)
}

// redactedError hides the API key in an underlying error's text while
// keeping it for errors.Is and errors.As.
type redactedError struct {
	err error
	key string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.key, "[redacted]")
}

func (e *redactedError) Unwrap() error { return e.err }
