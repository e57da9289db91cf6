package openai

import (
	"encoding/json"
)

// ChatRequest is a Chat Completions request body
// (POST /v1/chat/completions). Optional scalars are pointers so that "not
// set" stays apart from zero. Fields the gateway does not act on yet are
// kept as raw JSON, so that a decoded request still says whether the
// caller used them.
type ChatRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	// MaxTokens is the older name of the answer-length cap, still the one
	// compatible hosts (vLLM, Ollama, Azure) understand.
	MaxTokens *int64 `json:"max_tokens,omitempty"`
	// MaxCompletionTokens is OpenAI's current name for it.
	MaxCompletionTokens *int64     `json:"max_completion_tokens,omitempty"`
	Temperature         *float64   `json:"temperature,omitempty"`
	TopP                *float64   `json:"top_p,omitempty"`
	Stop                StringList `json:"stop,omitempty"`
	Seed                *int64     `json:"seed,omitempty"`
	// User is an opaque end-user identifier (superseded by
	// SafetyIdentifier).
	User             string         `json:"user,omitempty"`
	SafetyIdentifier string         `json:"safety_identifier,omitempty"`
	Stream           bool           `json:"stream,omitempty"`
	StreamOptions    *StreamOptions `json:"stream_options,omitempty"`
	// N is the number of choices asked for.
	N              *int64          `json:"n,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	Modalities     []string        `json:"modalities,omitempty"`
	// ReasoningEffort is minimal, low, medium or high, for reasoning
	// models.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`

	// Features kept as raw JSON, so that a decoded request still says
	// whether the caller used them (see wirejson.InUse); an encoder fills
	// Tools with [Tool] values, ToolChoice with a string or a
	// [NamedToolChoice] and ParallelToolCalls with a boolean.
	Logprobs          json.RawMessage `json:"logprobs,omitempty"`
	Tools             json.RawMessage `json:"tools,omitempty"`
	ToolChoice        json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls json.RawMessage `json:"parallel_tool_calls,omitempty"`
	Functions         json.RawMessage `json:"functions,omitempty"`
	Audio             json.RawMessage `json:"audio,omitempty"`
	WebSearchOptions  json.RawMessage `json:"web_search_options,omitempty"`
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	// IncludeUsage asks for a last chunk carrying the usage; without it a
	// stream reports none.
	IncludeUsage bool `json:"include_usage"`
}

// The response_format types.
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// ResponseFormat asks for plain text, any JSON object or JSON matching a
// schema.
type ResponseFormat struct {
	// Type is [FormatText], [FormatJSONObject] or [FormatJSONSchema].
	Type string `json:"type"`
	// JSONSchema is the schema of a [FormatJSONSchema] answer.
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is a named schema for a structured answer.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// The message roles.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function"
)

// Message is one message of a request.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
	Name    string  `json:"name,omitempty"`
	// ToolCalls are an assistant message's calls ([ToolCall] values), raw
	// so that a decoded message says whether it had any.
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	// ToolCallID is the call a tool message answers.
	ToolCallID   string          `json:"tool_call_id,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
}

// StringList is a list of strings that the API also takes as one string
// (stop). It is sent as an array.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *StringList) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StringList{one}
		return nil
	case 'n':
		*s = nil
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}
