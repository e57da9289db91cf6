package compat

import (
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
	if r.GetText() != "" {
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
