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

// messageEvents writes a stream's events.
type messageEvents struct {
	id    string
	model string
}

func newMessageEvents(opts streamOptions) *messageEvents {
	return &messageEvents{id: newID("msg_"), model: opts.model}
}

// start implements events: message_start (usage is not known yet; the
// final message_delta carries all of it), the text block's start, and a
// ping.
func (e *messageEvents) start(b []byte) []byte {
	var zero int64
	b = anthropicwire.AppendMessageStart(b, e.id, e.model, &anthropicwire.Usage{InputTokens: &zero, OutputTokens: &zero})
	b = append(b, anthropicwire.TextBlockStartEvent...)
	return append(b, anthropicwire.PingEvent...)
}

// delta implements events.
func (e *messageEvents) delta(b []byte, text string) []byte {
	return anthropicwire.AppendTextDelta(b, text)
}

// finish implements events: the block's end, message_delta with the stop
// reason and the whole usage, and message_stop.
func (e *messageEvents) finish(b []byte, m *gatewayv1.StreamResponse) []byte {
	b = append(b, anthropicwire.TextBlockStopEvent...)
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
