package providers

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// AttemptError is [TransportError] for a failure under an attempt's own
// context actx, derived from the caller's ctx: a done actx with a live ctx
// means the attempt's timeout fired.
func AttemptError(ctx, actx context.Context, provider string, err error) *Error {
	e := TransportError(ctx, provider, err)
	if ctx.Err() == nil && actx.Err() != nil {
		e.Kind = KindTimeout
		e.Message = "attempt timed out"
	}
	return e
}

// EventStreamCall opens one streamed call to a vendor's HTTP API; each
// backend supplies the request and the reading of its vendor's error
// bodies.
type EventStreamCall struct {
	// Provider is the provider instance's name, for errors.
	Provider string
	// Timeout bounds the attempt until the response headers arrive; 0
	// means only ctx does.
	Timeout time.Duration
	// Send posts the request under actx.
	Send func(actx context.Context) (*http.Response, error)
	// StatusError maps a non-2xx response. ctx is the caller's, actx the
	// attempt's.
	StatusError func(ctx, actx context.Context, resp *http.Response) error
	// UnexpectedBody maps a 2xx response whose media type is not
	// text/event-stream.
	UnexpectedBody func(ctx, actx context.Context, resp *http.Response, mediaType string) error
}

// Open sends the call and returns the stream of its answer, whose chunks
// the function parse returns for the event-stream body reads; see
// [NewBodyStream]. ctx is the caller's context.
func (c EventStreamCall) Open(ctx context.Context, parse func(body io.Reader) func() (Chunk, error)) (*BodyStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	var timer *time.Timer
	if c.Timeout > 0 {
		timer = time.AfterFunc(c.Timeout, cancel)
	}
	fail := func(err error) (*BodyStream, error) {
		if timer != nil {
			timer.Stop()
		}
		cancel()
		return nil, err
	}
	resp, err := c.Send(sctx)
	if err != nil {
		return fail(AttemptError(ctx, sctx, c.Provider, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer closeBody(resp)
		return fail(c.StatusError(ctx, sctx, resp))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "text/event-stream" {
			defer closeBody(resp)
			return fail(c.UnexpectedBody(ctx, sctx, resp, mt))
		}
	}
	if timer != nil && !timer.Stop() {
		// The header timeout fired as the headers arrived; the stream's
		// context is already canceled.
		closeBody(resp)
		return fail(AttemptError(ctx, sctx, c.Provider, context.DeadlineExceeded))
	}
	return NewBodyStream(ctx, cancel, resp.Body, c.Provider, parse(resp.Body)), nil
}

// closeBody closes a response body whose content has been read or is no
// longer wanted; an error closing it changes nothing for the caller.
func closeBody(resp *http.Response) { _ = resp.Body.Close() }

// BodyStream is the [Stream] of one streamed HTTP call, whose body a
// backend's parser reads: the parser's first failure is sticky, a
// cut-off stream the caller gave up on is reported as theirs, and the
// connection is released on the first failure or Close.
type BodyStream struct {
	// ctx is the caller's context, kept for the life of this one call
	// only to tell a caller's cancellation from a connection failure when
	// a read fails.
	ctx      context.Context
	cancel   context.CancelFunc
	body     io.ReadCloser
	provider string
	next     func() (Chunk, error)

	err       error // sticky; only Recv touches it
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NewBodyStream returns the stream of body, whose chunks next reads:
// next returns the parser's own, unwrapped io.EOF after the last chunk.
// ctx is the caller's context; cancel ends the call's.
func NewBodyStream(ctx context.Context, cancel context.CancelFunc, body io.ReadCloser, provider string, next func() (Chunk, error)) *BodyStream {
	return &BodyStream{ctx: ctx, cancel: cancel, body: body, provider: provider, next: next}
}

// Recv returns the next chunk; see [Stream].
func (s *BodyStream) Recv() (Chunk, error) {
	if s.err != nil {
		return Chunk{}, s.err
	}
	var (
		c   Chunk
		err error
	)
	if !s.closed.Load() {
		c, err = s.next()
		if err == nil || err == io.EOF { //nolint:errorlint // the parser's own, unwrapped io.EOF
			return c, err
		}
	}
	var pe *Error
	switch {
	case s.closed.Load():
		pe = &Error{
			Kind:     KindCanceled,
			Provider: s.provider,
			Message:  "stream closed",
			Err:      net.ErrClosed,
		}
	case errors.As(err, &pe) && (pe.Kind != KindTruncated || s.ctx.Err() == nil):
	default:
		// A read failure, or a cut-off stream whose cause was the caller
		// giving up.
		pe = TransportError(s.ctx, s.provider, err)
	}
	s.err = pe
	_ = s.Close() // release the connection at once
	return Chunk{}, pe
}

// Close releases the connection. It may be called more than once and
// concurrently with Recv, which then fails with [KindCanceled].
func (s *BodyStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.closeErr = s.body.Close()
	})
	return s.closeErr
}

var _ Stream = (*BodyStream)(nil)
