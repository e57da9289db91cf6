package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sse"
)

// Draining the rest of a finished stream's body lets HTTP/1.1 reuse the
// connection; it is bounded in time and size.
const (
	drainTimeout = 100 * time.Millisecond
	drainBytes   = 64 << 10
)

var doneMarker = []byte("[DONE]")

// chunkEvent is the part of a chat.completion.chunk the gateway reads. One
// value is reused for every event of a stream.
type chunkEvent struct {
	ID      rawString     `json:"id"`
	Model   rawString     `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   usageField    `json:"usage"`
	// Error is OpenAI's mid-stream {"error": {...}} event.
	Error json.RawMessage `json:"error"`
}

type chunkChoice struct {
	Delta struct {
		Content string `json:"content"`
	} `json:"delta"`
	FinishReason string `json:"finish_reason"`
}

// reset clears e for the next event, keeping its buffers.
func (e *chunkEvent) reset() {
	clear(e.Choices[:cap(e.Choices)])
	*e = chunkEvent{ID: e.ID[:0], Model: e.Model[:0], Choices: e.Choices[:0], Error: e.Error[:0]}
}

// rawString keeps a JSON string token as it arrived, quotes and escapes
// included, reusing its buffer: the id and model repeat on every chunk and
// are only turned into Go strings once, at the end.
type rawString []byte

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		if string(b) == "null" {
			return nil
		}
		return errors.New("openai: expected a string")
	}
	*r = append((*r)[:0], b...)
	return nil
}

// String unquotes r; "" when r is empty or invalid.
func (r rawString) String() string {
	if len(r) < 2 {
		return ""
	}
	if bytes.IndexByte(r, '\\') < 0 {
		return string(r[1 : len(r)-1])
	}
	var s string
	_ = json.Unmarshal(r, &s)
	return s
}

// usageField is a usage object that remembers whether it was present and
// not null ("usage": null is on every chunk but the last).
type usageField struct {
	set bool
	u   usage
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *usageField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f.set = true
	return json.Unmarshal(b, &f.u)
}

// eventInput feeds one event's data at a time to a json.Decoder.
type eventInput struct{ data []byte }

func (r *eventInput) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// stream is a chat.completion.chunk event stream.
type stream struct {
	// ctx is the caller's context, kept to tell the caller canceling from
	// the connection failing when a read errors.
	ctx    context.Context
	p      *Provider
	body   io.ReadCloser
	cancel context.CancelFunc
	rd     *sse.Reader

	closeOnce sync.Once
	closed    atomic.Bool
	finished  atomic.Bool // [DONE] was read; Recv no longer touches body

	// Owned by Recv. Events are decoded by one json.Decoder per stream,
	// which, unlike json.Unmarshal, keeps its scanner and decode state
	// between values: no per-event allocations beyond the delta text.
	dec       *json.Decoder
	in        eventInput
	fed       int64 // bytes handed to dec so far
	ev        chunkEvent
	id, model rawString
	finish    providers.FinishReason
	usage     providers.Usage
	err       error // sticky: io.EOF after the final chunk, or the failure
}

func newStream(ctx context.Context, p *Provider, body io.ReadCloser, cancel context.CancelFunc) *stream {
	return &stream{ctx: ctx, p: p, body: body, cancel: cancel, rd: sse.NewReader(body)}
}

// Recv returns the next chunk with text, then one final chunk with Done
// set, then io.EOF.
func (s *stream) Recv() (providers.Chunk, error) {
	if s.err != nil {
		return providers.Chunk{}, s.err
	}
	for {
		if s.closed.Load() {
			return s.fail(s.closedError())
		}
		ev, err := s.rd.Next()
		if err != nil {
			return s.fail(s.readError(err))
		}
		data := bytes.TrimSpace(ev.Data)
		if ev.Name == "error" {
			return s.fail(s.eventError(data))
		}
		if len(data) == 0 {
			continue
		}
		if bytes.Equal(data, doneMarker) {
			s.err = io.EOF
			s.finished.Store(true)
			return providers.Chunk{
				Done:         true,
				FinishReason: s.finish,
				Usage:        s.usage,
				ID:           s.id.String(),
				Model:        s.model.String(),
			}, nil
		}
		delta, err := s.decode(data)
		if err != nil {
			return s.fail(err)
		}
		if delta != "" {
			return providers.Chunk{Delta: delta}, nil
		}
	}
}

// decode reads one chunk event, updates the stream's state and returns its
// text.
func (s *stream) decode(data []byte) (string, error) {
	e := &s.ev
	e.reset()
	if s.dec == nil {
		s.dec = json.NewDecoder(&s.in)
	}
	s.in.data = data
	s.fed += int64(len(data))
	// The event must be exactly one JSON value: the decoder stops at the
	// value's end, so anything after it is an error here.
	if err := s.dec.Decode(e); err != nil || s.dec.InputOffset() != s.fed {
		return "", s.p.malformed(0, "stream event is not a chat.completion.chunk", data)
	}
	if len(e.Error) > 0 && string(e.Error) != "null" {
		return "", s.p.inBandError(e.Error, 0)
	}
	if len(e.ID) > 2 {
		s.id = append(s.id[:0], e.ID...)
	}
	if len(e.Model) > 2 {
		s.model = append(s.model[:0], e.Model...)
	}
	if e.Usage.set {
		s.usage = e.Usage.u.toUsage()
	}
	if len(e.Choices) == 0 {
		return "", nil
	}
	c := &e.Choices[0]
	if c.FinishReason != "" {
		s.finish = finishReason(c.FinishReason)
	}
	return c.Delta.Content, nil
}

// eventError maps an "event: error" event, whose data is an error object
// with or without the {"error": ...} envelope.
func (s *stream) eventError(data []byte) error {
	if u, ok := parseUpstreamError(data); ok {
		return s.p.upstreamErr(u, 0)
	}
	return &providers.Error{Kind: providers.KindServer, Provider: s.p.name,
		Message: s.p.excerptMessage("upstream sent an error event", data)}
}

func (s *stream) fail(err error) (providers.Chunk, error) {
	s.err = err
	return providers.Chunk{}, err
}

// readError classifies a failure to read the next event.
func (s *stream) readError(err error) error {
	switch {
	case s.closed.Load():
		return s.closedError()
	case s.ctx.Err() != nil:
		return s.p.transportError(s.ctx, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &providers.Error{Kind: providers.KindTruncated, Provider: s.p.name,
			Message: "stream ended before data: [DONE]", Err: io.ErrUnexpectedEOF}
	case errors.Is(err, sse.ErrLineTooLong):
		return &providers.Error{Kind: providers.KindMalformed, Provider: s.p.name,
			Message: "stream line too long", Err: err}
	}
	return s.p.transportError(s.ctx, err)
}

func (s *stream) closedError() error {
	return &providers.Error{Kind: providers.KindCanceled, Provider: s.p.name, Message: "stream closed", Err: context.Canceled}
}

// Close releases the connection. It may be called at any time, more than
// once, and concurrently with Recv.
func (s *stream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.finished.Load() {
			// Recv is done with the body: read its end so that the
			// connection can go back to the pool.
			t := time.AfterFunc(drainTimeout, s.cancel)
			_, _ = io.Copy(io.Discard, io.LimitReader(s.body, drainBytes))
			t.Stop()
			err = s.body.Close()
			s.cancel()
			return
		}
		// Cancel first: it unblocks a Recv waiting on the network.
		s.cancel()
		err = s.body.Close()
	})
	return err
}

// staticStream serves chunks that are already known.
type staticStream struct {
	provider string
	mu       sync.Mutex
	chunks   []providers.Chunk
	closed   bool
}

func (s *staticStream) Recv() (providers.Chunk, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return providers.Chunk{}, &providers.Error{Kind: providers.KindCanceled, Provider: s.provider, Message: "stream closed", Err: context.Canceled}
	}
	if len(s.chunks) == 0 {
		return providers.Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *staticStream) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

var (
	_ providers.Stream = (*stream)(nil)
	_ providers.Stream = (*staticStream)(nil)
)
