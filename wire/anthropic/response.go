package anthropic

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The stop_reason values.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopStopSequence = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn"
	StopRefusal      = "refusal"
	// StopContextWindowExceeded is the model's context window filling up.
	StopContextWindowExceeded = "model_context_window_exceeded"
)

// Message is a response body (type "message"), also the message of a
// stream's message_start event. An error body decodes into it too, with
// Type [TypeError] and Error set.
type Message struct {
	ID           string  `json:"id,omitempty"`
	Type         Type    `json:"type"`
	Role         string  `json:"role,omitempty"`
	Model        string  `json:"model,omitempty"`
	Content      []Block `json:"content"`
	StopReason   string  `json:"stop_reason,omitempty"`
	StopSequence string  `json:"stop_sequence,omitempty"`
	Usage        *Usage  `json:"usage,omitempty"`
	// Error and RequestID are set on an error body.
	Error     *ErrorObject `json:"error,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// Usage counts the tokens of an answer. InputTokens is only the uncached
// part of the prompt; the cache reads and writes are counted apart. In a
// stream every value is cumulative, and an event carries only some: a nil
// field is one the JSON did not carry.
type Usage struct {
	InputTokens              *int64          `json:"input_tokens,omitempty"`
	CacheCreationInputTokens *int64          `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     *int64          `json:"cache_read_input_tokens,omitempty"`
	CacheCreation            *CacheCreation  `json:"cache_creation,omitempty"`
	OutputTokens             *int64          `json:"output_tokens,omitempty"`
	ServiceTier              string          `json:"service_tier,omitempty"`
	ServerToolUse            json.RawMessage `json:"server_tool_use,omitempty"`
}

// CacheCreation breaks the cache writes down by lifetime.
type CacheCreation struct {
	Ephemeral5mInputTokens int64 `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int64 `json:"ephemeral_1h_input_tokens"`
}

// Counts are the four token counts of a usage object, all present.
type Counts struct {
	Input, CacheCreation, CacheRead, Output int64
}

// Merge overrides the counts of c that u carries. Anthropic's usage values
// are cumulative, so a later value replaces an earlier one; they are never
// summed. Negative values are ignored.
func (u *Usage) Merge(c *Counts) {
	set := func(dst *int64, v *int64) {
		if v != nil && *v >= 0 {
			*dst = *v
		}
	}
	set(&c.Input, u.InputTokens)
	set(&c.CacheCreation, u.CacheCreationInputTokens)
	set(&c.CacheRead, u.CacheReadInputTokens)
	set(&c.Output, u.OutputTokens)
}

// Usage is the usage object carrying all four counts.
func (c *Counts) Usage() Usage {
	return Usage{InputTokens: &c.Input, CacheCreationInputTokens: &c.CacheCreation,
		CacheReadInputTokens: &c.CacheRead, OutputTokens: &c.Output}
}

// AppendJSON appends u as encoding/json writes it.
func (u *Usage) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	start := len(b)
	field := func(name string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if u.InputTokens != nil {
		field("input_tokens")
		b = strconv.AppendInt(b, *u.InputTokens, 10)
	}
	if u.CacheCreationInputTokens != nil {
		field("cache_creation_input_tokens")
		b = strconv.AppendInt(b, *u.CacheCreationInputTokens, 10)
	}
	if u.CacheReadInputTokens != nil {
		field("cache_read_input_tokens")
		b = strconv.AppendInt(b, *u.CacheReadInputTokens, 10)
	}
	if c := u.CacheCreation; c != nil {
		field("cache_creation")
		b = append(b, `{"ephemeral_5m_input_tokens":`...)
		b = strconv.AppendInt(b, c.Ephemeral5mInputTokens, 10)
		b = append(b, `,"ephemeral_1h_input_tokens":`...)
		b = strconv.AppendInt(b, c.Ephemeral1hInputTokens, 10)
		b = append(b, '}')
	}
	if u.OutputTokens != nil {
		field("output_tokens")
		b = strconv.AppendInt(b, *u.OutputTokens, 10)
	}
	if u.ServiceTier != "" {
		field("service_tier")
		b = wirejson.AppendString(b, u.ServiceTier)
	}
	if u.ServerToolUse != nil {
		field("server_tool_use")
		b = append(b, u.ServerToolUse...)
	}
	return append(b, '}')
}

// AnswerText concatenates the text blocks of an answer, leaving out
// thinking, tool_use and other blocks.
func AnswerText(blocks []Block) string {
	n, count, only := 0, 0, ""
	for i := range blocks {
		if blocks[i].Type == BlockText {
			n += len(blocks[i].Text)
			count++
			only = blocks[i].Text
		}
	}
	if count <= 1 {
		return only
	}
	var b strings.Builder
	b.Grow(n)
	for i := range blocks {
		if blocks[i].Type == BlockText {
			b.WriteString(blocks[i].Text)
		}
	}
	return b.String()
}

// AppendMessageHead appends a message object up to and including its
// model: {"id":…,"type":"message","role":"assistant","model":….
func AppendMessageHead(b []byte, id, model string) []byte {
	b = append(b, `{"id":`...)
	b = wirejson.AppendString(b, id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	return wirejson.AppendString(b, model)
}

// TextBlockOpen opens a content array's text block; the text, as the
// inside of a JSON string, and TextBlockClose follow.
const (
	TextBlockOpen  = `,"content":[{"type":"text","text":"`
	TextBlockClose = `"}]`
	// NoContent is an empty content array.
	NoContent = `,"content":[]`
)

// AppendMessageTail closes a message object opened by [AppendMessageHead]
// and its content, with the stop reason and the usage.
func AppendMessageTail(b []byte, stopReason string, u *Usage) []byte {
	b = append(b, `,"stop_reason":`...)
	b = wirejson.AppendString(b, stopReason)
	b = append(b, `,"stop_sequence":null,"usage":`...)
	b = u.AppendJSON(b)
	return append(b, '}')
}
