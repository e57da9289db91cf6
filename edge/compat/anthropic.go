package compat

import (
	"strconv"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/wirejson"
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
		return "max_tokens"
	case gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER:
		return "refusal"
	case gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS:
		return "tool_use"
	}
	return "end_turn"
}

// appendAnthropicUsage appends a usage object. Anthropic's input_tokens
// leaves out the prompt-cache reads and writes, which it counts apart; the
// gateway's input_tokens includes them.
func appendAnthropicUsage(b []byte, u *gatewayv1.Usage) []byte {
	cached, written := int64(u.GetCachedInputTokens()), int64(u.GetCacheCreationInputTokens())
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, max(int64(u.GetInputTokens())-cached-written, 0), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, written, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, cached, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(u.GetOutputTokens()), 10)
	return append(b, '}')
}

// appendMessage appends the message object of a unary answer. Its id is
// the gateway's response id (the one feedback takes).
func appendMessage(b []byte, r *gatewayv1.CompleteResponse, requested string) []byte {
	b = append(b, `{"id":`...)
	b = wirejson.AppendString(b, r.GetId())
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = wirejson.AppendString(b, answeredModel(r.GetModel(), requested))
	b = append(b, `,"content":[`...)
	if r.GetText() != "" {
		b = append(b, `{"type":"text","text":`...)
		b = wirejson.AppendString(b, r.GetText())
		b = append(b, '}')
	}
	b = append(b, `],"stop_reason":"`...)
	b = append(b, anthropicStopReason(r.GetFinishReason())...)
	b = append(b, `","stop_sequence":null,"usage":`...)
	b = appendAnthropicUsage(b, r.GetUsage())
	return append(b, '}')
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
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\""...)
	b = append(b, e.id...) // hex, nothing to escape
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = wirejson.AppendString(b, e.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}`+"\n\n"...)
	b = append(b, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"...)
	return append(b, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
}

// delta implements events.
func (e *messageEvents) delta(b []byte, text string) []byte {
	b = append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"...)
	b = wirejson.AppendString(b, text)
	return append(b, "}}\n\n"...)
}

// finish implements events: the block's end, message_delta with the stop
// reason and the whole usage, and message_stop.
func (e *messageEvents) finish(b []byte, m *gatewayv1.StreamResponse) []byte {
	b = append(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"...)
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\""...)
	b = append(b, anthropicStopReason(m.GetFinishReason())...)
	b = append(b, `","stop_sequence":null},"usage":`...)
	b = appendAnthropicUsage(b, m.GetUsage())
	b = append(b, "}\n\n"...)
	return append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// fail implements events: an error event, which the SDK raises as an
// APIError.
func (e *messageEvents) fail(b []byte, ae *apiError) []byte {
	b = append(b, "event: error\ndata: "...)
	b = appendAnthropicError(b, ae)
	return append(b, "\n\n"...)
}
