package openai

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Done is the data of the event that ends a stream: "data: [DONE]".
const Done = "[DONE]"

// ChatCompletionChunk is one event of a streamed answer.
//
// The fields every chunk of a stream repeats are [Repeated] strings, and
// the opaque ones raw JSON, so that decoding a stream into one reused
// value allocates little more than the text itself.
type ChatCompletionChunk struct {
	ID                Repeated      `json:"id"`
	Object            Repeated      `json:"object"`
	Created           int64         `json:"created"`
	Model             Repeated      `json:"model"`
	ServiceTier       Repeated      `json:"service_tier,omitempty"`
	SystemFingerprint Repeated      `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is null on every chunk but the last one of a stream that asked
	// for it (stream_options.include_usage).
	Usage *Usage `json:"usage,omitempty"`
	// Obfuscation is a string that pads chunks to hide their length,
	// kept raw.
	Obfuscation json.RawMessage `json:"obfuscation,omitempty"`
	// PromptFilterResults is Azure OpenAI's content-filter report.
	PromptFilterResults json.RawMessage `json:"prompt_filter_results,omitempty"`
	// Error is the mid-stream error event {"error": {...}}; see
	// [ParseError].
	Error json.RawMessage `json:"error,omitempty"`
}

// Repeated is a string that every chunk of a stream repeats (id, model,
// fingerprint). Decoding the value it already holds keeps it without
// allocating.
type Repeated string

// UnmarshalJSON implements json.Unmarshaler.
func (r *Repeated) UnmarshalJSON(b []byte) error {
	if n := len(b); n >= 2 && b[0] == '"' && string(b[1:n-1]) == string(*r) && bytes.IndexByte(b, '\\') < 0 {
		return nil
	}
	if string(b) == "null" {
		*r = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = Repeated(s)
	return nil
}

// Reset clears c for decoding the next chunk of the same stream into it,
// keeping its buffers: the repeated strings and the pointer to the delta's
// content stay (an absent field then reads as the previous chunk's value).
func (c *ChatCompletionChunk) Reset() {
	choices := c.Choices[:cap(c.Choices)]
	for i := range choices {
		ch := &choices[i]
		content := ch.Delta.Content
		if content != nil {
			*content = ""
		}
		*ch = ChunkChoice{
			Logprobs:             ch.Logprobs[:0],
			ContentFilterResults: ch.ContentFilterResults[:0],
			Delta:                Delta{Content: content, ToolCalls: ch.Delta.ToolCalls[:0]},
		}
	}
	*c = ChatCompletionChunk{
		ID: c.ID, Object: c.Object, Model: c.Model, ServiceTier: c.ServiceTier, SystemFingerprint: c.SystemFingerprint,
		Choices:             c.Choices[:0],
		Obfuscation:         c.Obfuscation[:0],
		PromptFilterResults: c.PromptFilterResults[:0],
		Error:               c.Error[:0],
	}
}

// ChunkChoice is one choice's step in a chunk.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
	FinishReason *string         `json:"finish_reason"`
	// ContentFilterResults is Azure OpenAI's content-filter report.
	ContentFilterResults json.RawMessage `json:"content_filter_results,omitempty"`
}

// Delta is the next piece of a choice's message.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	Refusal   *string         `json:"refusal,omitempty"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
}

// The choice arrays of the chunks a one-choice stream is made of, for
// [AppendChunkHead].
const (
	// ChoicesStart is the first chunk's: the assistant role, empty content.
	ChoicesStart = `[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]`
	// ChoicesDeltaOpen opens a text chunk's choices; the text, as the
	// inside of a JSON string, and ChoicesDeltaClose follow.
	ChoicesDeltaOpen = `[{"index":0,"delta":{"content":"`
	// ChoicesDeltaClose closes ChoicesDeltaOpen.
	ChoicesDeltaClose = `"},"logprobs":null,"finish_reason":null}]`
	// ChoicesNone is the usage chunk's: no choice.
	ChoicesNone = `[]`
)

// AppendChunkHead appends "data: " and a chunk up to and including
// `"choices":`; the choices array and [AppendChunkTail] follow.
func AppendChunkHead(b []byte, m *Meta) []byte {
	b = append(b, `data: {"id":`...)
	b = wirejson.AppendString(b, m.ID)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, m.Created, 10)
	b = append(b, `,"model":`...)
	b = wirejson.AppendString(b, m.Model)
	b = appendServing(b, m)
	return append(b, `,"choices":`...)
}

// AppendFinishChoices appends the last choice chunk's choices: an empty
// delta and the finish reason.
func AppendFinishChoices(b []byte, finishReason string) []byte {
	b = append(b, `[{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
	b = wirejson.AppendString(b, finishReason)
	return append(b, "}]"...)
}

// AppendChunkTail closes a chunk and its event. With includeUsage and a
// nil u it writes "usage": null, as every chunk but the last of a stream
// that asked for usage has; with u it writes the usage.
func AppendChunkTail(b []byte, includeUsage bool, u *Usage) []byte {
	switch {
	case u != nil:
		b = append(b, `,"usage":`...)
		b = u.AppendJSON(b)
	case includeUsage:
		b = append(b, `,"usage":null`...)
	}
	return append(b, "}\n\n"...)
}

// DoneEvent is the event that ends a complete stream.
const DoneEvent = "data: [DONE]\n\n"
