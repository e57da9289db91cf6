package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sse"
)

// streamEvent holds every field this package reads from any Messages
// stream event, decoded into one flat struct reused for every event.
// Fields of other event and delta types (partial_json, thinking,
// signature…) are skipped by the decoder without being stored.
type streamEvent struct {
	Type    wireType `json:"type"`
	Message struct {
		ID    string    `json:"id"`
		Model string    `json:"model"`
		Usage wireUsage `json:"usage"`
	} `json:"message"`
	ContentBlock wireBlock `json:"content_block"`
	Delta        struct {
		Type       wireType `json:"type"`
		Text       string   `json:"text"`
		StopReason string   `json:"stop_reason"`
	} `json:"delta"`
	Usage wireUsage `json:"usage"`
	Error wireError `json:"error"`
}

// reset clears ev for the next event, marking the usage fields absent so
// that the ones an event carries can be told from the ones it does not.
func (ev *streamEvent) reset() {
	*ev = streamEvent{}
	ev.Message.Usage.markAbsent()
	ev.Usage.markAbsent()
}

// parser maps the events of one Messages stream to chunks. It knows
// nothing of HTTP, so that it can be benchmarked and fuzzed alone.
type parser struct {
	rd *sse.Reader
	p  *Provider // name and redaction for errors
	ev streamEvent

	// One decoder for all events, so that its buffers are reused: data is
	// fed through src, fed counts the bytes fed so far.
	dec *json.Decoder
	src bytes.Reader
	fed int64

	id, model string
	usage     wireUsage
	stop      string
	done      bool
}

func newParser(r io.Reader, p *Provider) *parser {
	ps := &parser{rd: sse.NewReader(r), p: p}
	ps.dec = json.NewDecoder(&ps.src)
	return ps
}

// decode decodes one event's data, which must be exactly one JSON value.
func (ps *parser) decode(data []byte) error {
	ps.ev.reset()
	ps.src.Reset(data)
	ps.fed += int64(len(data))
	if err := ps.dec.Decode(&ps.ev); err != nil {
		if errors.Is(err, io.EOF) {
			// Never let io.EOF leak into an error: callers test for it.
			return errEmptyData
		}
		return err
	}
	if ps.dec.More() {
		return errTrailingData
	}
	if ps.dec.InputOffset() != ps.fed {
		// Rare: something after the value, possibly only white space.
		rest, _ := io.ReadAll(ps.dec.Buffered())
		if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
			return errTrailingData
		}
	}
	return nil
}

var (
	errTrailingData = errors.New("data after the event's JSON value")
	errEmptyData    = errors.New("event without JSON data")
)

// next returns the next chunk. After the final chunk (Done set, on
// message_stop) it returns io.EOF. Protocol failures are *providers.Error;
// any other error is a failure to read r, returned as is.
func (ps *parser) next() (providers.Chunk, error) {
	for {
		if ps.done {
			return providers.Chunk{}, io.EOF
		}
		e, err := ps.rd.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return providers.Chunk{}, &providers.Error{
					Kind:     providers.KindTruncated,
					Provider: ps.p.name,
					Message:  "stream ended before message_stop",
					Err:      io.ErrUnexpectedEOF,
				}
			case errors.Is(err, sse.ErrLineTooLong):
				return providers.Chunk{}, &providers.Error{
					Kind:     providers.KindMalformed,
					Provider: ps.p.name,
					Message:  "stream line too long",
					Err:      err,
				}
			}
			return providers.Chunk{}, err
		}
		if err := ps.decode(e.Data); err != nil {
			return providers.Chunk{}, ps.p.malformed(e.Data, err)
		}
		ev := &ps.ev
		typ := ev.Type
		if typ == typeAbsent {
			typ = lookupType(e.Name)
		}
		switch typ {
		case typeMessageStart:
			ps.id, ps.model = ev.Message.ID, ev.Message.Model
			ev.Message.Usage.mergeInto(&ps.usage)
		case typeContentBlockStart:
			if ev.ContentBlock.Type == typeText && ev.ContentBlock.Text != "" {
				return providers.Chunk{Delta: ev.ContentBlock.Text}, nil
			}
		case typeContentBlockDelta:
			if ev.Delta.Type == typeTextDelta && ev.Delta.Text != "" {
				return providers.Chunk{Delta: ev.Delta.Text}, nil
			}
		case typeMessageDelta:
			if ev.Delta.StopReason != "" {
				ps.stop = ev.Delta.StopReason
			}
			// Cumulative: the last value wins, never a sum.
			ev.Usage.mergeInto(&ps.usage)
		case typeMessageStop:
			ps.done = true
			return providers.Chunk{
				Done:         true,
				FinishReason: finishReason(ps.stop),
				Usage:        ps.usage.normalize(),
				ID:           ps.id,
				Model:        ps.model,
			}, nil
		case typeError:
			return providers.Chunk{}, ps.p.eventError(&ev.Error)
		case typePing, typeContentBlockStop:
		}
		// Pings, block ends and event types added to the API after this
		// code was written carry nothing to emit.
	}
}

// stream is the [providers.Stream] of one Messages API call.
type stream struct {
	// ctx is the caller's context, kept for the life of this one call
	// only to tell a caller's cancellation from a connection failure when
	// a read fails.
	ctx    context.Context
	cancel context.CancelFunc
	body   io.ReadCloser
	ps     *parser

	err       error // sticky; only Recv touches it
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

func newStream(ctx context.Context, cancel context.CancelFunc, body io.ReadCloser, p *Provider) *stream {
	return &stream{ctx: ctx, cancel: cancel, body: body, ps: newParser(body, p)}
}

// Recv returns the next chunk; see [providers.Stream].
func (s *stream) Recv() (providers.Chunk, error) {
	if s.err != nil {
		return providers.Chunk{}, s.err
	}
	if s.ps.done {
		return providers.Chunk{}, io.EOF
	}
	var (
		c   providers.Chunk
		err error
	)
	if !s.closed.Load() {
		c, err = s.ps.next()
		if err == nil || err == io.EOF { //nolint:errorlint // the parser's own, unwrapped io.EOF
			return c, err
		}
	}
	var pe *providers.Error
	switch {
	case s.closed.Load():
		pe = &providers.Error{
			Kind:     providers.KindCanceled,
			Provider: s.ps.p.name,
			Message:  "stream closed",
			Err:      net.ErrClosed,
		}
	case errors.As(err, &pe) && (pe.Kind != providers.KindTruncated || s.ctx.Err() == nil):
	default:
		// A read failure, or a cut-off stream whose cause was the caller
		// giving up.
		pe = providers.TransportError(s.ctx, s.ps.p.name, err)
	}
	s.err = pe
	_ = s.Close() // release the connection at once
	return providers.Chunk{}, pe
}

// Close releases the connection. It may be called more than once and
// concurrently with Recv, which then fails with [providers.KindCanceled].
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.closeErr = s.body.Close()
	})
	return s.closeErr
}

var _ providers.Stream = (*stream)(nil)
