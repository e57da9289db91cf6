package anthropic

import (
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Event is the data of any stream event, one flat struct for all event
// types: Type says which fields belong to it.
type Event struct {
	Type Type `json:"type"`
	// Message is message_start's message, without content.
	Message *Message `json:"message,omitempty"`
	// Index is the block of a content_block_* event.
	Index *int `json:"index,omitempty"`
	// ContentBlock is content_block_start's block, its text possibly
	// already begun.
	ContentBlock *Block `json:"content_block,omitempty"`
	// Delta is content_block_delta's next piece of a block, or
	// message_delta's stop reason.
	Delta *Delta `json:"delta,omitempty"`
	// Usage is message_delta's cumulative usage.
	Usage *Usage `json:"usage,omitempty"`
	// Error is an error event's error.
	Error *ErrorObject `json:"error,omitempty"`
}

// Delta is the delta of a content_block_delta (Type set) or a
// message_delta (StopReason set) event.
type Delta struct {
	Type        Type   `json:"type,omitempty"`
	Text        string `json:"text,omitempty"`
	PartialJSON string `json:"partial_json,omitempty"`
	Thinking    string `json:"thinking,omitempty"`
	Signature   string `json:"signature,omitempty"`
	StopReason  string `json:"stop_reason,omitempty"`
	// StopSequence is the stop sequence that ended the answer, if one did.
	StopSequence *string `json:"stop_sequence,omitempty"`
}

// MarshalJSON implements json.Marshaler: a delta has the fields of its
// type, empty ones included.
func (d Delta) MarshalJSON() ([]byte, error) {
	type plain Delta // without this method
	type typed struct {
		Type        Type    `json:"type"`
		Text        *string `json:"text,omitempty"`
		PartialJSON *string `json:"partial_json,omitempty"`
		Thinking    *string `json:"thinking,omitempty"`
		Signature   *string `json:"signature,omitempty"`
	}
	switch d.Type {
	case DeltaText:
		return wirejson.Marshal(nil, typed{Type: d.Type, Text: &d.Text})
	case DeltaInputJSON:
		return wirejson.Marshal(nil, typed{Type: d.Type, PartialJSON: &d.PartialJSON})
	case DeltaThinking:
		return wirejson.Marshal(nil, typed{Type: d.Type, Thinking: &d.Thinking})
	case DeltaSignature:
		return wirejson.Marshal(nil, typed{Type: d.Type, Signature: &d.Signature})
	}
	return wirejson.Marshal(nil, plain(d))
}

// The events of a one-text-block stream that never vary, with their
// "event:" lines.
const (
	// TextBlockStartEvent opens block 0 as an empty text block.
	TextBlockStartEvent = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	// PingEvent is the keep-alive the API sends early in a stream.
	PingEvent = "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	// TextDeltaOpen opens a text delta of block 0; the text, as the
	// inside of a JSON string, and TextDeltaClose follow.
	TextDeltaOpen = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\""
	// TextDeltaClose closes TextDeltaOpen.
	TextDeltaClose = "\"}}\n\n"
	// TextBlockStopEvent closes block 0.
	TextBlockStopEvent = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	// MessageStopEvent ends a complete stream.
	MessageStopEvent = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

// AppendMessageStart appends the message_start event: the message's id
// and model, no content, no stop reason, and the usage known so far.
func AppendMessageStart(b []byte, id, model string, u *Usage) []byte {
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"...)
	b = AppendMessageHead(b, id, model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = u.AppendJSON(b)
	return append(b, "}}\n\n"...)
}

// AppendTextDelta appends a text delta event of block 0.
func AppendTextDelta(b []byte, text string) []byte {
	b = append(b, TextDeltaOpen...)
	b = wirejson.AppendStringBody(b, text)
	return append(b, TextDeltaClose...)
}

// AppendMessageDelta appends the message_delta event: the stop reason and
// the cumulative usage.
func AppendMessageDelta(b []byte, stopReason string, u *Usage) []byte {
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	b = wirejson.AppendString(b, stopReason)
	b = append(b, `,"stop_sequence":null},"usage":`...)
	b = u.AppendJSON(b)
	return append(b, "}\n\n"...)
}

// AppendErrorEvent appends an error event, which ends a stream.
func AppendErrorEvent(b []byte, e *ErrorObject) []byte {
	b = append(b, "event: error\ndata: "...)
	b = e.AppendJSON(b)
	return append(b, "\n\n"...)
}
