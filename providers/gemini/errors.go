package gemini

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/gemini"
)

const (
	maxMessageBytes = 512
	maxExcerptBytes = 96
)

// authMessage replaces the vendor's text for credential failures.
const authMessage = "Google rejected the provider's API credentials"

// statusError maps a non-2xx response to a typed error.
func (p *Provider) statusError(ctx, actx context.Context, resp *http.Response) error {
	e := &providers.Error{
		Kind:       providers.StatusKind(resp.StatusCode),
		Provider:   p.name,
		StatusCode: resp.StatusCode,
		RetryAfter: providers.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	if err != nil {
		if e.Kind == providers.KindAuth {
			e.Message = authMessage
		} else {
			e.Message = "error body unreadable"
			e.Err = p.transportError(ctx, actx, err)
		}
		return e
	}
	var w wire.ErrorBody
	if json.Unmarshal(body, &w) != nil || w.Error == nil {
		if e.Kind == providers.KindAuth {
			e.Message = authMessage
			return e
		}
		// An HTML page from a proxy: keep the kinds whose statuses stand
		// on their own.
		switch e.Kind {
		case providers.KindServer, providers.KindBadRequest, providers.KindUnknown:
			e.Kind = providers.KindMalformed
		}
		e.Message = "non-JSON error body: " + p.excerpt(body)
		return e
	}
	p.refine(e, w.Error)
	return e
}

// eventError maps an error object received with a 2xx status (a stream's
// error event) by its status name.
func (p *Provider) eventError(s *wire.Status) *providers.Error {
	status := s.Code
	if status == 0 {
		status = wire.HTTPStatus(s.Status)
	}
	e := &providers.Error{Kind: providers.StatusKind(status), Provider: p.name}
	if status == 0 {
		e.Kind = providers.KindUnknown
	}
	p.refine(e, s)
	if e.Message == "" {
		e.Message = "error event without a message"
	}
	return e
}

// refine fills e from the google.rpc status: code, message, retry delay,
// field violations, and the kinds only the body tells.
func (p *Provider) refine(e *providers.Error, s *wire.Status) {
	e.Code = s.Status
	if d := s.RetryDelay(); d > 0 {
		e.RetryAfter = d
	}
	reason := s.Reason()
	if reason != "" {
		e.Code = s.Status + "/" + reason
	}
	if e.Kind == providers.KindAuth || reason == wire.ReasonAPIKeyInvalid {
		e.Kind = providers.KindAuth
		e.Message = authMessage
		return
	}
	msg := s.Message
	for _, v := range s.FieldViolations() {
		msg += "; " + v.Field + ": " + v.Description
	}
	e.Message = p.clean(msg)
	if e.Kind == providers.KindBadRequest && wire.IsContextLength(s.Message) {
		e.Kind = providers.KindContextLength
	}
}

// unexpectedBody maps a 2xx streaming response that is not an event
// stream.
func (p *Provider) unexpectedBody(ctx, actx context.Context, resp *http.Response, mediaType string) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	if err != nil {
		return p.transportError(ctx, actx, err)
	}
	var w wire.ErrorBody
	if json.Unmarshal(body, &w) == nil && w.Error != nil {
		return p.eventError(w.Error)
	}
	e := p.malformed(body, nil)
	e.StatusCode = resp.StatusCode
	e.Message = "unexpected content type " + p.clean(mediaType) + " for a stream: " + p.excerpt(body)
	return e
}

// malformed is the error for a body that is not what the API sends.
func (p *Provider) malformed(body []byte, err error) *providers.Error {
	return &providers.Error{Kind: providers.KindMalformed, Provider: p.name, Message: "unparseable response: " + p.excerpt(body), Err: err}
}

// clean makes upstream text safe to carry in an error.
func (p *Provider) clean(s string) string {
	return truncate(p.redact(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))), maxMessageBytes)
}

// excerpt is a short, sanitised, quoted piece of an unparseable body.
func (p *Provider) excerpt(body []byte) string {
	if len(body) > 4*maxExcerptBytes+1024 {
		body = body[:4*maxExcerptBytes+1024]
	}
	var b strings.Builder
	inTag, space := false, false
	for _, r := range p.redact(strings.ToValidUTF8(string(body), "\uFFFD")) {
		switch {
		case r == '<':
			inTag = true
		case r == '>' && inTag:
			inTag = false
			space = true
		case inTag:
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
		if b.Len() > 2*maxExcerptBytes {
			break
		}
	}
	s := truncate(b.String(), maxExcerptBytes)
	if s == "" {
		return `""`
	}
	return `"` + s + `"`
}

// redact removes the key and anything shaped like a Google API key
// ("AIza" and 35 more characters).
func (p *Provider) redact(s string) string {
	if p.apiKey != "" {
		s = strings.ReplaceAll(s, p.apiKey, "[REDACTED]")
	}
	const prefix = "AIza"
	for i := 0; ; {
		j := strings.Index(s[i:], prefix)
		if j < 0 {
			return s
		}
		start := i + j
		end := start + len(prefix)
		for end < len(s) && isKeyByte(s[end]) {
			end++
		}
		s = s[:start] + "[REDACTED]" + s[end:]
		i = start + len("[REDACTED]")
	}
}

func isKeyByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
