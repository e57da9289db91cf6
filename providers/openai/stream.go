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
	wire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Draining the rest of a finished stream's body lets HTTP/1.1 reuse the
// connection; it is bounded in time and size.
const (
	drainTimeout = 100 * time.Millisecond
	drainBytes   = 64 << 10
)

var doneMarker = []byte(wire.Done)

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

	// Owned by Recv. Each event is decoded into ev, reused (see
	// wire.ChatCompletionChunk.Reset), with wirejson.Unmarshal.
	ev        wire.ChatCompletionChunk
	id, model string
	finish    providers.FinishReason
	usage     providers.Usage
	calls     []wire.ToolCallDelta      // decoded from the current event
	pending   []providers.ToolCallDelta // tool-call pieces not yet returned
	err       error                     // sticky: io.EOF after the final chunk, or the failure
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
		if len(s.pending) > 0 {
			tc := s.pending[0]
			s.pending = s.pending[1:]
			return providers.Chunk{ToolCall: &tc}, nil
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
				ID:           s.id,
				Model:        s.model,
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
	e.Reset()
	if err := wirejson.Unmarshal(data, e); err != nil {
		return "", s.p.malformed(0, "stream event is not a chat.completion.chunk", data)
	}
	if len(e.Error) > 0 && string(e.Error) != "null" {
		return "", s.p.inBandError(e.Error, 0)
	}
	if e.ID != "" {
		s.id = string(e.ID)
	}
	if e.Model != "" {
		s.model = string(e.Model)
	}
	if e.Usage != nil {
		s.usage = toUsage(e.Usage)
	}
	if len(e.Choices) == 0 {
		return "", nil
	}
	c := &e.Choices[0]
	if c.FinishReason != nil && *c.FinishReason != "" {
		s.finish = finishReason(*c.FinishReason)
	}
	if len(c.Delta.ToolCalls) > 0 && string(c.Delta.ToolCalls) != "null" {
		if err := s.queueToolCalls(c.Delta.ToolCalls); err != nil {
			return "", s.p.malformed(0, "stream event has malformed tool_calls", data)
		}
	}
	if c.Delta.Content == nil {
		return "", nil
	}
	return *c.Delta.Content, nil
}

// queueToolCalls decodes a delta's tool_calls and queues them as chunks, in
// order. A piece without an index, or with a negative one, is malformed:
// without it the caller cannot tell parallel calls apart.
func (s *stream) queueToolCalls(raw json.RawMessage) error {
	// json.Unmarshal decodes into the elements the slice already has
	// room for without zeroing them: clear them, or one call's id would
	// stick to the next piece at that position.
	clear(s.calls[:cap(s.calls)])
	s.calls = s.calls[:0]
	if err := json.Unmarshal(raw, &s.calls); err != nil {
		return err
	}
	s.pending = s.pending[:0]
	for _, c := range s.calls {
		if c.Index < 0 {
			return errBadIndex
		}
		s.pending = append(s.pending, providers.ToolCallDelta{
			Index: c.Index, ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments,
		})
	}
	return nil
}

var errBadIndex = errors.New("tool call index is negative")

// eventError maps an "event: error" event, whose data is an error object
// with or without the {"error": ...} envelope.
func (s *stream) eventError(data []byte) error {
	if u, ok := wire.ParseError(data); ok {
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
