package gemini

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/gemini"
)

// keyPrefix starts Google API keys ("AIza" and 35 more characters),
// redacted from upstream text.
const keyPrefix = "AIza"

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
			e.Err = providers.AttemptError(ctx, actx, p.name, err)
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
		e.Message = "non-JSON error body: " + p.text.Excerpt(body)
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
	e.Code = p.text.Code(s.Status)
	if d := s.RetryDelay(); d > 0 {
		e.RetryAfter = d
	}
	reason := s.Reason()
	if reason != "" {
		e.Code = p.text.Code(s.Status + "/" + reason)
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
	e.Message = p.text.Clean(msg)
	if e.Kind == providers.KindBadRequest && wire.IsContextLength(s.Message) {
		e.Kind = providers.KindContextLength
	}
}

// unexpectedBody maps a 2xx streaming response that is not an event
// stream.
func (p *Provider) unexpectedBody(ctx, actx context.Context, resp *http.Response, mediaType string) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	if err != nil {
		return providers.AttemptError(ctx, actx, p.name, err)
	}
	var w wire.ErrorBody
	if json.Unmarshal(body, &w) == nil && w.Error != nil {
		return p.eventError(w.Error)
	}
	e := p.malformed(body, nil)
	e.StatusCode = resp.StatusCode
	e.Message = "unexpected content type " + p.text.Clean(mediaType) + " for a stream: " + p.text.Excerpt(body)
	return e
}

// malformed is the error for a body that is not what the API sends.
func (p *Provider) malformed(body []byte, err error) *providers.Error {
	return &providers.Error{Kind: providers.KindMalformed, Provider: p.name, Message: "unparseable response: " + p.text.Excerpt(body), Err: err}
}
