package anthropic

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/anthropic"
)

// keyPrefix starts Anthropic's API keys, redacted from upstream text.
const keyPrefix = "sk-ant-"

// authMessage replaces the vendor's text for credential failures: they are
// the operator's problem, and the text may quote the key.
const authMessage = "Anthropic rejected the provider's API credentials"

// statusError maps a non-2xx response to a typed error, reading at most
// maxErrorBytes of its body. ctx is the caller's, actx the attempt's.
func (p *Provider) statusError(ctx, actx context.Context, resp *http.Response) error {
	e := &providers.Error{
		Kind:       providers.StatusKind(resp.StatusCode),
		Provider:   p.name,
		StatusCode: resp.StatusCode,
		RetryAfter: providers.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	buf := getReadBuf()
	defer putReadBuf(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxErrorBytes)); err != nil {
		// The status alone still says what happened.
		if e.Kind == providers.KindAuth {
			e.Message = authMessage
		} else {
			e.Message = "error body unreadable"
			e.Err = providers.AttemptError(ctx, actx, p.name, err)
		}
		return e
	}
	body := buf.Bytes()

	var w wire.Message
	jsonErr := json.Unmarshal(body, &w)
	if w.Error == nil {
		w.Error = &wire.ErrorObject{}
	}
	if e.Kind == providers.KindAuth {
		e.Message = authMessage
		if jsonErr == nil {
			e.Code = p.text.Code(w.Error.Type)
		}
		return e
	}
	if jsonErr != nil {
		// An HTML page from a proxy or load balancer. Keep the kinds whose
		// statuses are unambiguous (rate limit, overload, timeout, size);
		// otherwise the body is what went wrong.
		switch e.Kind {
		case providers.KindServer, providers.KindBadRequest, providers.KindUnknown:
			e.Kind = providers.KindMalformed
		}
		e.Message = "non-JSON error body: " + p.text.Excerpt(body)
		return e
	}
	if w.Error.Type == "" && w.Error.Message == "" {
		e.Message = "error body without an error object: " + p.text.Excerpt(body)
		return e
	}
	e.Code = p.text.Code(w.Error.Type)
	e.Message = p.text.Clean(w.Error.Message)
	switch typeKind := errorTypeKind(w.Error.Type); {
	case e.Kind == providers.KindBadRequest && wire.IsContextLength(w.Error.Message):
		e.Kind = providers.KindContextLength
	case w.Error.Type == wire.ErrBilling:
		// Out of credit (402): another provider may answer, waiting will
		// not.
		e.Kind = providers.KindQuotaExhausted
	case (e.Kind == providers.KindServer || e.Kind == providers.KindUnknown) &&
		typeKind != providers.KindUnknown && typeKind != providers.KindAuth:
		// e.g. overloaded_error behind a 500 or an odd status.
		e.Kind = typeKind
	}
	return e
}

// unexpectedBody maps a 2xx streaming response that is not an event
// stream: an error object if it is one, else a malformed response.
func (p *Provider) unexpectedBody(ctx, actx context.Context, resp *http.Response, mediaType string) error {
	buf := getReadBuf()
	defer putReadBuf(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxErrorBytes)); err != nil {
		return providers.AttemptError(ctx, actx, p.name, err)
	}
	var w wire.Message
	if json.Unmarshal(buf.Bytes(), &w) == nil && w.Type == wire.TypeError {
		return p.eventError(w.Error)
	}
	e := p.malformed(buf.Bytes(), nil)
	e.StatusCode = resp.StatusCode
	e.Message = "unexpected content type " + p.text.Clean(mediaType) + " for a stream: " + p.text.Excerpt(buf.Bytes())
	return e
}

// eventError maps an error object received with a 2xx status (a stream's
// error event) by its type.
func (p *Provider) eventError(w *wire.ErrorObject) *providers.Error {
	if w == nil {
		w = &wire.ErrorObject{}
	}
	e := &providers.Error{
		Kind:     errorTypeKind(w.Type),
		Provider: p.name,
		Code:     p.text.Code(w.Type),
		Message:  p.text.Clean(w.Message),
	}
	switch {
	case e.Kind == providers.KindAuth:
		e.Message = authMessage
	case e.Kind == providers.KindBadRequest && wire.IsContextLength(w.Message):
		e.Kind = providers.KindContextLength
	case e.Message == "":
		e.Message = "error event without a message"
	}
	return e
}

// errorTypeKind maps Anthropic's error.type by the HTTP status it stands
// for; a billing error is the operator's account out of credit, which
// another provider may answer and waiting will not.
func errorTypeKind(t string) providers.ErrorKind {
	if t == wire.ErrBilling {
		return providers.KindQuotaExhausted
	}
	if status := wire.StatusOf(t); status != 0 {
		return providers.StatusKind(status)
	}
	return providers.KindUnknown
}

// malformed is the error for a body that is not what the API sends.
func (p *Provider) malformed(body []byte, err error) *providers.Error {
	return &providers.Error{
		Kind:     providers.KindMalformed,
		Provider: p.name,
		Message:  "unparseable response: " + p.text.Excerpt(body),
		Err:      err,
	}
}
