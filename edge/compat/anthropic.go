package compat

import (
	"encoding/json"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The Anthropic Messages wire format, written by hand as the real API
// writes it (see providers/anthropic/testdata): a message object for a
// unary answer; message_start, content_block_start, ping,
// content_block_delta…, content_block_stop, message_delta and
// message_stop events for a stream.

// anthropicStopReason is the stop_reason of reason.
func anthropicStopReason(r gatewayv1.FinishReason) string {
	switch r {
	case gatewayv1.FinishReason_FINISH_REASON_LENGTH:
		return anthropicwire.StopMaxTokens
	case gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER:
		return anthropicwire.StopRefusal
	case gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS:
		return anthropicwire.StopToolUse
	}
	return anthropicwire.StopEndTurn
}

// anthropicCounts is the gateway's usage as Anthropic counts it: its
// input_tokens leaves out the prompt-cache reads and writes, which it
// counts apart; the gateway's input_tokens includes them.
func anthropicCounts(u *gatewayv1.Usage) anthropicwire.Counts {
	cached, written := int64(u.GetCachedInputTokens()), int64(u.GetCacheCreationInputTokens())
	return anthropicwire.Counts{
		Input:         max(int64(u.GetInputTokens())-cached-written, 0),
		CacheCreation: written,
		CacheRead:     cached,
		Output:        int64(u.GetOutputTokens()),
	}
}

// appendMessage appends the message object of a unary answer. Its id is
// the gateway's response id (the one feedback takes).
func appendMessage(b []byte, r *gatewayv1.CompleteResponse, requested string) []byte {
	b = anthropicwire.AppendMessageHead(b, r.GetId(), answeredModel(r.GetModel(), requested))
	if parts := r.GetParts(); len(parts) > 0 {
		b = append(b, `,"content":`...)
		b = appendBlocks(b, parts)
	} else if r.GetText() != "" {
		b = append(b, anthropicwire.TextBlockOpen...)
		b = wirejson.AppendStringBody(b, r.GetText())
		b = append(b, anthropicwire.TextBlockClose...)
	} else {
		b = append(b, anthropicwire.NoContent...)
	}
	c := anthropicCounts(r.GetUsage())
	u := c.Usage()
	return anthropicwire.AppendMessageTail(b, anthropicStopReason(r.GetFinishReason()), &u)
}

// answerBlock is the content block of one part of an answer.
func answerBlock(p *gatewayv1.Part) anthropicwire.Block {
	switch k := p.GetKind().(type) {
	case *gatewayv1.Part_ToolCall:
		return anthropicwire.Block{Type: anthropicwire.BlockToolUse, ID: k.ToolCall.GetId(), Name: k.ToolCall.GetName(),
			Input: toolInput(k.ToolCall.GetArguments())}
	case *gatewayv1.Part_Thinking:
		if r := k.Thinking.GetRedacted(); r != "" {
			return anthropicwire.Block{Type: anthropicwire.BlockRedactedThinking, Data: r}
		}
		return anthropicwire.Block{Type: anthropicwire.BlockThinking, Thinking: k.Thinking.GetText(), Signature: k.Thinking.GetSignature()}
	}
	return anthropicwire.Block{Type: anthropicwire.BlockText, Text: p.GetText()}
}

// toolInput is a tool call's arguments as a tool_use block's input: the
// JSON object the model wrote, {} for none. Arguments that are not JSON
// (a model's broken call) are passed as a JSON string rather than
// breaking the body.
func toolInput(args string) json.RawMessage {
	switch {
	case args == "" || args == "null":
		return json.RawMessage("{}")
	case json.Valid([]byte(args)):
		return json.RawMessage(args)
	}
	return wirejson.AppendString(nil, args)
}

// appendBlocks appends the content array of an answer's parts.
func appendBlocks(b []byte, parts []*gatewayv1.Part) []byte {
	blocks := make([]anthropicwire.Block, len(parts))
	for i, p := range parts {
		blocks[i] = answerBlock(p)
	}
	out, err := wirejson.Marshal(b, blocks)
	if err != nil { // blocks of strings and valid JSON always encode
		return append(b, `[]`...)
	}
	return out
}

// messageEvents writes a stream's events. Blocks are opened as the
// answer's parts arrive, as the API does: a text, thinking or tool_use
// block, each filled by its deltas and closed before the next opens.
type messageEvents struct {
	id    string
	model string
	// open is the kind of the open block ("" for none), index its index
	// (-1 before the first), tool the gateway's index of an open tool_use
	// block.
	open   anthropicwire.Type
	index  int
	tool   int32
	pinged bool
}

func newMessageEvents(opts streamOptions) *messageEvents {
	return &messageEvents{id: newID("msg_"), model: opts.model, index: -1}
}

// start implements events: message_start (usage is not known yet; the
// final message_delta carries all of it). The first block's start and a
// ping follow when the answer's first part arrives.
func (e *messageEvents) start(b []byte) []byte {
	var zero int64
	return anthropicwire.AppendMessageStart(b, e.id, e.model, &anthropicwire.Usage{InputTokens: &zero, OutputTokens: &zero})
}

// appendEvent appends one event of the given type.
func appendEvent(b []byte, ev *anthropicwire.Event) []byte {
	b = append(b, "event: "...)
	b = append(b, ev.Type...)
	b = append(b, "\ndata: "...)
	out, err := wirejson.Marshal(b, ev)
	if err != nil { // events of strings and valid JSON always encode
		return append(b, "{}\n\n"...)
	}
	return append(out, "\n\n"...)
}

// closeBlock ends the open block, if any.
func (e *messageEvents) closeBlock(b []byte) []byte {
	if e.open == "" {
		return b
	}
	e.open = ""
	if e.index == 0 {
		return append(b, anthropicwire.TextBlockStopEvent...)
	}
	i := e.index
	return appendEvent(b, &anthropicwire.Event{Type: anthropicwire.TypeContentBlockStop, Index: &i})
}

// openBlock ends the open block and starts block, the next one; the
// stream's ping follows the first.
func (e *messageEvents) openBlock(b []byte, block anthropicwire.Block) []byte {
	b = e.closeBlock(b)
	e.index++
	e.open = block.Type
	if e.index == 0 && block.Type == anthropicwire.BlockText {
		b = append(b, anthropicwire.TextBlockStartEvent...)
	} else {
		i := e.index
		b = appendEvent(b, &anthropicwire.Event{Type: anthropicwire.TypeContentBlockStart, Index: &i, ContentBlock: &block})
	}
	if !e.pinged {
		e.pinged = true
		b = append(b, anthropicwire.PingEvent...)
	}
	return b
}

// blockDelta appends a content_block_delta of the open block.
func (e *messageEvents) blockDelta(b []byte, d anthropicwire.Delta) []byte {
	i := e.index
	return appendEvent(b, &anthropicwire.Event{Type: anthropicwire.TypeContentBlockDelta, Index: &i, Delta: &d})
}

// delta is the next piece of text, in a text block.
func (e *messageEvents) delta(b []byte, text string) []byte {
	if e.open != anthropicwire.BlockText {
		b = e.openBlock(b, anthropicwire.Block{Type: anthropicwire.BlockText})
	}
	if e.index == 0 {
		return anthropicwire.AppendTextDelta(b, text)
	}
	return e.blockDelta(b, anthropicwire.Delta{Type: anthropicwire.DeltaText, Text: text})
}

// message implements events: a stream message's thinking, text and
// tool-call pieces, in that order.
func (e *messageEvents) message(b []byte, m *gatewayv1.StreamResponse) []byte {
	if th := m.GetThinking(); th != nil {
		if th.GetRedacted() != "" {
			b = e.openBlock(b, anthropicwire.Block{Type: anthropicwire.BlockRedactedThinking, Data: th.GetRedacted()})
			b = e.closeBlock(b)
		}
		if th.GetText() != "" || th.GetSignature() != "" {
			if e.open != anthropicwire.BlockThinking {
				b = e.openBlock(b, anthropicwire.Block{Type: anthropicwire.BlockThinking})
			}
			if th.GetText() != "" {
				b = e.blockDelta(b, anthropicwire.Delta{Type: anthropicwire.DeltaThinking, Thinking: th.GetText()})
			}
			if th.GetSignature() != "" {
				b = e.blockDelta(b, anthropicwire.Delta{Type: anthropicwire.DeltaSignature, Signature: th.GetSignature()})
			}
		}
	}
	if m.GetDelta() != "" {
		b = e.delta(b, m.GetDelta())
	}
	if tc := m.GetToolCall(); tc != nil {
		if e.open != anthropicwire.BlockToolUse || tc.GetIndex() != e.tool || tc.GetId() != "" {
			e.tool = tc.GetIndex()
			b = e.openBlock(b, anthropicwire.Block{Type: anthropicwire.BlockToolUse, ID: tc.GetId(), Name: tc.GetName()})
		}
		if tc.GetArguments() != "" {
			b = e.blockDelta(b, anthropicwire.Delta{Type: anthropicwire.DeltaInputJSON, PartialJSON: tc.GetArguments()})
		}
	}
	return b
}

// finish implements events: the last block's end (an empty text block
// for an empty answer), message_delta with the stop reason and the whole
// usage, and message_stop.
func (e *messageEvents) finish(b []byte, m *gatewayv1.StreamResponse) []byte {
	if e.index < 0 {
		b = e.openBlock(b, anthropicwire.Block{Type: anthropicwire.BlockText})
	}
	b = e.closeBlock(b)
	c := anthropicCounts(m.GetUsage())
	u := c.Usage()
	b = anthropicwire.AppendMessageDelta(b, anthropicStopReason(m.GetFinishReason()), &u)
	return append(b, anthropicwire.MessageStopEvent...)
}

// fail implements events: an error event, which the SDK raises as an
// APIError.
func (e *messageEvents) fail(b []byte, ae *apiError) []byte {
	return anthropicwire.AppendErrorEvent(b, ae.anthropicError())
}

var _ events = (*messageEvents)(nil)
