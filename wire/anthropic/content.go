package anthropic

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Block is one content block. Type says which of the other fields belong
// to it; MarshalJSON writes exactly those.
type Block struct {
	Type Type `json:"type"`
	// Text is a text block's text.
	Text string `json:"text,omitempty"`
	// Thinking and Signature are a thinking block's reasoning and its
	// signature; Data is a redacted_thinking block's opaque payload.
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
	// ID, Name and Input are a tool_use block's call.
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// ToolUseID, Content and IsError are a tool_result block's answer;
	// Content is raw (a string or blocks) until the gateway carries tools.
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	// Source is an image block's image, raw until the gateway carries
	// images.
	Source json.RawMessage `json:"source,omitempty"`
	// CacheControl marks a prompt-cache breakpoint after this block.
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// CacheControl is a prompt-cache breakpoint.
type CacheControl struct {
	// Type is "ephemeral".
	Type string `json:"type"`
	// TTL is "5m" or "1h"; empty is the API's default.
	TTL string `json:"ttl,omitempty"`
}

// MarshalJSON implements json.Marshaler: a block has the fields of its
// type, empty ones included (a stream's thinking block starts with empty
// thinking and signature).
func (b Block) MarshalJSON() ([]byte, error) {
	type plain Block // without this method
	switch b.Type {
	case BlockText:
		return wirejson.Marshal(nil, struct {
			Type         Type          `json:"type"`
			Text         string        `json:"text"`
			CacheControl *CacheControl `json:"cache_control,omitempty"`
		}{b.Type, b.Text, b.CacheControl})
	case BlockThinking:
		return wirejson.Marshal(nil, struct {
			Type      Type   `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	case BlockToolUse:
		input := b.Input
		if input == nil {
			input = json.RawMessage("{}")
		}
		return wirejson.Marshal(nil, struct {
			Type         Type            `json:"type"`
			ID           string          `json:"id"`
			Name         string          `json:"name"`
			Input        json.RawMessage `json:"input"`
			CacheControl *CacheControl   `json:"cache_control,omitempty"`
		}{b.Type, b.ID, b.Name, input, b.CacheControl})
	}
	return wirejson.Marshal(nil, plain(b))
}

// Content is a message's content, or the system prompt: a JSON string, or
// an array of blocks. Blocks is non-nil exactly when it was (or is to be
// sent as) an array; otherwise Text holds the string.
type Content struct {
	// Text is the content when it is a string.
	Text string
	// Blocks is the content when it is an array.
	Blocks []Block
}

// ErrContent is the decoding error of a content that is neither a string,
// an array nor null.
var ErrContent = errors.New("content must be a string or an array of content blocks")

// UnmarshalJSON implements json.Unmarshaler.
func (c *Content) UnmarshalJSON(data []byte) error {
	*c = Content{}
	return wirejson.UnmarshalStringOrArray(data, &c.Text, &c.Blocks, ErrContent)
}

// MarshalJSON implements json.Marshaler. Like the hand-written encoders it
// leaves <, > and & unescaped.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.Blocks != nil {
		return wirejson.Marshal(nil, c.Blocks)
	}
	return wirejson.AppendString(nil, c.Text), nil
}

// IsZero reports whether c is empty, for omitzero.
func (c Content) IsZero() bool { return c.Text == "" && c.Blocks == nil }

// String is the content's text: the string, or the text blocks joined
// with newlines. Blocks of other types are left out; see
// [Content.NonText].
func (c *Content) String() string {
	if c.Blocks == nil {
		return c.Text
	}
	return wirejson.JoinText(c.Blocks, func(b *Block) (string, bool) { return b.Text, b.Type == BlockText })
}

// NonText returns the index of the first block that is not text, or -1.
func (c *Content) NonText() int {
	return slices.IndexFunc(c.Blocks, func(b Block) bool { return b.Type != BlockText })
}
