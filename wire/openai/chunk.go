package openai

import (
	"encoding/json"
	"strconv"

	"github.com/careerpath/llmgateway/providers/wirejson"
)

// Done is the data of the event that ends a stream: "data: [DONE]".
const Done = "[DONE]"

// ChatCompletionChunk is one event of a streamed answer.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	ServiceTier       string        `json:"service_tier,omitempty"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is null on every chunk but the last one of a stream that asked
	// for it (stream_options.include_usage).
	Usage *Usage `json:"usage,omitempty"`
	// Obfuscation pads chunks to hide their length.
	Obfuscation string `json:"obfuscation,omitempty"`
	// PromptFilterResults is Azure OpenAI's content-filter report.
	PromptFilterResults json.RawMessage `json:"prompt_filter_results,omitempty"`
	// Error is the mid-stream error event {"error": {...}}; see
	// [ParseError].
	Error json.RawMessage `json:"error,omitempty"`
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
