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
	wire "github.com/careerpath/llmgateway/wire/openai"
)

// authMessage replaces the vendor's text on 401/403: OpenAI echoes part of
// a rejected key in it.
const authMessage = "provider rejected the gateway's credentials"

// maxExcerpt bounds the upstream text copied into an error message.
const maxExcerpt = 200

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
	u, isJSON := wire.ParseError(body)

	if e.Kind == providers.KindAuth {
		e.Message = authMessage
		e.Code = p.safeCode(u.CodeOrType())
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
	if e.Kind == providers.KindBadRequest && u.IsContextLength() {
		e.Kind = providers.KindContextLength
	}
	if u.IsQuotaExhausted() {
		// A 429 about billing, not rate: waiting does not help.
		e.Kind = providers.KindQuotaExhausted
	}
	e.Code = p.safeCode(u.CodeOrType())
	e.Message = p.sanitize(u.Message)
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// inBandError maps an error object that arrived inside a 2xx body or an
// event stream, where there is no HTTP status to go by.
func (p *Provider) inBandError(raw json.RawMessage, status int) *providers.Error {
	u, _ := wire.ParseErrorValue(raw)
	return p.upstreamErr(u, status)
}

// upstreamErr maps an error object by its code and type.
func (p *Provider) upstreamErr(u wire.ErrorObject, status int) *providers.Error {
	e := &providers.Error{Kind: inBandKind(u), Provider: p.name, StatusCode: status}
	e.Code = p.safeCode(u.CodeOrType())
	if e.Kind == providers.KindAuth {
		e.Message = authMessage
		return e
	}
	e.Message = p.sanitize(u.Message)
	if e.Message == "" {
		e.Message = "upstream reported an error"
	}
	return e
}

// inBandKind classifies an error object by the HTTP status its code, else
// its type, stands for.
func inBandKind(u wire.ErrorObject) providers.ErrorKind {
	if u.IsContextLength() {
		return providers.KindContextLength
	}
	if u.IsQuotaExhausted() {
		return providers.KindQuotaExhausted
	}
	for _, s := range [...]string{u.Code, u.Type} {
		if status := wire.StatusOf(s); status != 0 {
			return providers.StatusKind(status)
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

// safeCode returns code if it is a short identifier that is not the key
// (see [providers.Redactor.Code]).
func (p *Provider) safeCode(code string) string {
	return providers.Redactor{Key: p.key, KeyPrefix: "sk-"}.Code(code)
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
