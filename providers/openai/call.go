package openai

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// Name returns the operator-chosen name of this provider instance.
func (p *Provider) Name() string { return p.name }

// Complete sends req and waits for the whole answer. Settings.Timeout bounds
// the attempt, from sending the request to the last byte of the answer.
func (p *Provider) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	body, err := p.encode(req, false)
	if err != nil {
		return nil, err
	}
	defer body.release()

	actx, cancel := providers.AttemptContext(ctx, p.timeout)
	defer cancel()
	hreq, err := p.newHTTPRequest(actx, body, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(resp)
	}

	buf := getReadBuffer(resp.ContentLength)
	defer putReadBuffer(buf)
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	if n > maxResponseBytes {
		return nil, &providers.Error{Kind: providers.KindMalformed, Provider: p.name, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("response body exceeds %d bytes", maxResponseBytes)}
	}
	return p.parseCompletion(buf.Bytes(), resp)
}

// Stream sends req with "stream": true and include_usage forced on, and
// returns the answer as it arrives. Settings.Timeout bounds the wait for the
// response headers (and for an error body); once the event stream starts it
// lives as long as ctx.
func (p *Provider) Stream(ctx context.Context, req *providers.Request) (providers.Stream, error) {
	body, err := p.encode(req, true)
	if err != nil {
		return nil, err
	}
	defer body.release()

	sctx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	stopTimer := func() bool { return true } // reports whether the timer had not fired
	if p.timeout > 0 {
		timer := time.AfterFunc(p.timeout, func() {
			timedOut.Store(true)
			cancel()
		})
		stopTimer = timer.Stop
	}
	hreq, err := p.newHTTPRequest(sctx, body, true)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		stopTimer()
		cancel()
		if timedOut.Load() && ctx.Err() == nil {
			return nil, p.headerTimeout()
		}
		return nil, p.transportError(ctx, err)
	}
	// Until the event stream is handed over, the timer still runs: it also
	// bounds reading an error body.
	var (
		s    providers.Stream
		perr error
	)
	switch ct := mediaType(resp.Header.Get("Content-Type")); {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		perr = p.statusError(resp)
	case ct == "application/json":
		// A host that ignored "stream": true, or an error object sent
		// with a 2xx status: serve the whole answer as one stream.
		s, perr = p.jsonStream(ctx, resp)
	case ct == "text/html":
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		perr = p.malformed(resp.StatusCode, "stream response is text/html, not text/event-stream", excerpt)
	default:
		if !stopTimer() {
			// The timer fired just as the headers arrived: the request
			// context is already canceled.
			_ = resp.Body.Close()
			cancel()
			return nil, p.headerTimeout()
		}
		return newStream(ctx, p, resp.Body, cancel), nil
	}
	stopTimer()
	_ = resp.Body.Close()
	cancel()
	return s, perr
}

func (p *Provider) headerTimeout() *providers.Error {
	return &providers.Error{Kind: providers.KindTimeout, Provider: p.name,
		Message: fmt.Sprintf("no response headers within %s", p.timeout), Err: context.DeadlineExceeded}
}

// jsonStream turns a 2xx application/json answer to a stream request into
// a stream of at most two chunks, or into the error it carries.
func (p *Provider) jsonStream(ctx context.Context, resp *http.Response) (providers.Stream, error) {
	buf := getReadBuffer(resp.ContentLength)
	defer putReadBuffer(buf)
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	if n > maxResponseBytes {
		return nil, p.malformed(resp.StatusCode, "response body too large", nil)
	}
	r, err := p.parseCompletion(buf.Bytes(), resp)
	if err != nil {
		return nil, err
	}
	s := &staticStream{provider: p.name}
	if r.Text != "" {
		s.chunks = append(s.chunks, providers.Chunk{Delta: r.Text})
	}
	s.chunks = append(s.chunks, providers.Chunk{Done: true, FinishReason: r.FinishReason, Usage: r.Usage, ID: r.ID, Model: r.Model})
	return s, nil
}

// newHTTPRequest builds the POST carrying a copy of body.
func (p *Provider) newHTTPRequest(ctx context.Context, body *requestBody, stream bool) (*http.Request, error) {
	hreq, err := providers.NewPost(ctx, p.endpoint, body.b)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: p.name, Message: "cannot build request", Err: err}
	}
	for _, h := range p.headers {
		hreq.Header[h.name] = h.values
	}
	hreq.Header["Content-Type"] = jsonContentType
	if stream {
		hreq.Header["Accept"] = sseAccept
	} else {
		hreq.Header["Accept"] = jsonContentType
	}
	return hreq, nil
}

var (
	jsonContentType = []string{"application/json"}
	sseAccept       = []string{"text/event-stream"}
)

// mediaType returns the lower-cased media type of a Content-Type value,
// without parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}
