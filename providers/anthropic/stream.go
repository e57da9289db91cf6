package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sse"
	wire "github.com/careerpath/llmgateway/wire/anthropic"
)

// event is the reused decoding target of a stream's events: the wire
// event, its pointers aimed before each decode at values kept here, so
// that an event costs no allocation for the parts it does not carry.
type event struct {
	wire.Event
	msg   wire.Message
	index int
	block wire.Block
	delta wire.Delta
	errv  wire.ErrorObject
}

// reset clears ev for the next event. Usage is left nil: the few events
// that carry it allocate their counts, and a nil count is one the event
// did not carry.
func (ev *event) reset() {
	ev.msg = wire.Message{}
	ev.block = wire.Block{}
	ev.delta = wire.Delta{}
	ev.errv = wire.ErrorObject{}
	ev.Event = wire.Event{Message: &ev.msg, Index: &ev.index, ContentBlock: &ev.block, Delta: &ev.delta, Error: &ev.errv}
}

// parser maps the events of one Messages stream to chunks. It knows
// nothing of HTTP, so that it can be benchmarked and fuzzed alone.
type parser struct {
	rd *sse.Reader
	p  *Provider // name and redaction for errors
	ev event

	// One decoder for all events, so that its buffers are reused: data is
	// fed through src, fed counts the bytes fed so far.
	dec *json.Decoder
	src bytes.Reader
	fed int64

	id, model string
	usage     wire.Counts
	stop      string
	done      bool

	// unwrap makes the forced json_answer call's input the answer text.
	unwrap bool
	// tools maps the block index of each open tool_use block to its
	// ordinal among the answer's tool calls; answerBlock is the index of
	// the json_answer block, or -1.
	tools       map[int]int
	nextTool    int
	answerBlock int
}

func newParser(r io.Reader, p *Provider, unwrap bool) *parser {
	ps := &parser{rd: sse.NewReader(r), p: p, unwrap: unwrap, answerBlock: -1}
	ps.dec = json.NewDecoder(&ps.src)
	return ps
}

// decode decodes one event's data, which must be exactly one JSON value.
func (ps *parser) decode(data []byte) error {
	ps.ev.reset()
	ps.src.Reset(data)
	ps.fed += int64(len(data))
	if err := ps.dec.Decode(&ps.ev.Event); err != nil {
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
		ev := &ps.ev.Event
		typ := ev.Type
		if typ == "" {
			typ = wire.LookupType(e.Name)
		}
		switch typ {
		case wire.TypeMessageStart:
			if m := ev.Message; m != nil {
				ps.id, ps.model = m.ID, m.Model
				if m.Usage != nil {
					m.Usage.Merge(&ps.usage)
				}
			}
		case wire.TypeContentBlockStart:
			if c, ok := ps.blockStart(ev); ok {
				return c, nil
			}
		case wire.TypeContentBlockDelta:
			if c, ok := ps.blockDelta(ev); ok {
				return c, nil
			}
		case wire.TypeMessageDelta:
			if d := ev.Delta; d != nil && d.StopReason != "" {
				ps.stop = d.StopReason
			}
			// Cumulative: the last value wins, never a sum.
			if ev.Usage != nil {
				ev.Usage.Merge(&ps.usage)
			}
		case wire.TypeMessageStop:
			ps.done = true
			finish := finishReason(ps.stop)
			if ps.unwrap && finish == providers.FinishToolCalls {
				finish = providers.FinishStop
			}
			return providers.Chunk{
				Done:         true,
				FinishReason: finish,
				Usage:        normalize(&ps.usage),
				ID:           ps.id,
				Model:        ps.model,
			}, nil
		case wire.TypeError:
			return providers.Chunk{}, ps.p.eventError(ev.Error)
		}
		// Pings, block ends and event types added to the API after this
		// code was written carry nothing to emit.
	}
}

// blockStart maps a content_block_start event: text already begun, a tool
// call's id and name, a redacted thinking block's data.
func (ps *parser) blockStart(ev *wire.Event) (providers.Chunk, bool) {
	b := ev.ContentBlock
	if b == nil {
		return providers.Chunk{}, false
	}
	switch b.Type {
	case wire.BlockText:
		if b.Text != "" && !ps.unwrap {
			return providers.Chunk{Delta: b.Text}, true
		}
	case wire.BlockToolUse:
		if ev.Index == nil || b.Name == "" { // a call without a name cannot be answered
			return providers.Chunk{}, false
		}
		if ps.unwrap && b.Name == JSONAnswerTool {
			ps.answerBlock = *ev.Index
			return providers.Chunk{}, false
		}
		if ps.tools == nil {
			ps.tools = make(map[int]int)
		}
		n := ps.nextTool
		ps.tools[*ev.Index] = n
		ps.nextTool++
		return providers.Chunk{ToolCall: &providers.ToolCallDelta{Index: n, ID: b.ID, Name: b.Name}}, true
	case wire.BlockThinking:
		if b.Thinking != "" || b.Signature != "" {
			return providers.Chunk{Thinking: &providers.ThinkingDelta{Text: b.Thinking, Signature: b.Signature}}, true
		}
	case wire.BlockRedactedThinking:
		return providers.Chunk{Thinking: &providers.ThinkingDelta{Redacted: b.Data}}, true
	}
	return providers.Chunk{}, false
}

// blockDelta maps a content_block_delta event.
func (ps *parser) blockDelta(ev *wire.Event) (providers.Chunk, bool) {
	d := ev.Delta
	if d == nil {
		return providers.Chunk{}, false
	}
	switch d.Type {
	case wire.DeltaText:
		if d.Text != "" && !ps.unwrap {
			return providers.Chunk{Delta: d.Text}, true
		}
	case wire.DeltaInputJSON:
		if d.PartialJSON == "" || ev.Index == nil {
			return providers.Chunk{}, false
		}
		if ps.unwrap && *ev.Index == ps.answerBlock {
			return providers.Chunk{Delta: d.PartialJSON}, true
		}
		if n, ok := ps.tools[*ev.Index]; ok {
			return providers.Chunk{ToolCall: &providers.ToolCallDelta{Index: n, Arguments: d.PartialJSON}}, true
		}
	case wire.DeltaThinking:
		if d.Thinking != "" {
			return providers.Chunk{Thinking: &providers.ThinkingDelta{Text: d.Thinking}}, true
		}
	case wire.DeltaSignature:
		if d.Signature != "" {
			return providers.Chunk{Thinking: &providers.ThinkingDelta{Signature: d.Signature}}, true
		}
	}
	return providers.Chunk{}, false
}

// stream is the [providers.Stream] of one Messages API call. Once its
// terminal chunk is out it ends with io.EOF, also after Close.
type stream struct {
	*providers.BodyStream
	ps *parser
}

// Recv returns the next chunk; see [providers.Stream].
func (s *stream) Recv() (providers.Chunk, error) {
	if s.ps.done {
		return providers.Chunk{}, io.EOF
	}
	return s.BodyStream.Recv()
}

var _ providers.Stream = (*stream)(nil)
