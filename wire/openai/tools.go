package openai

import (
	"encoding/json"
)

// ToolTypeFunction is the one tool and tool-call type Chat Completions
// defines for functions.
const ToolTypeFunction = "function"

// Tool is one element of a request's tools array.
type Tool struct {
	// Type is [ToolTypeFunction].
	Type     string       `json:"type"`
	Function FunctionDecl `json:"function"`
}

// FunctionDecl declares a function the model may call.
type FunctionDecl struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// Strict asks the model to follow Parameters exactly.
	Strict *bool `json:"strict,omitempty"`
}

// The string forms of tool_choice.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
)

// NamedToolChoice is the object form of tool_choice, which forces a call
// of one function: {"type":"function","function":{"name":"…"}}.
type NamedToolChoice struct {
	Type     string       `json:"type"`
	Function FunctionName `json:"function"`
}

// FunctionName names a function.
type FunctionName struct {
	Name string `json:"name"`
}

// ToolCall is one call in an assistant message's tool_calls, in a request
// or an answer.
type ToolCall struct {
	ID string `json:"id"`
	// Type is [ToolTypeFunction].
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is a called function and its arguments, a JSON object in
// text exactly as the model wrote it.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ToolCallDelta is one element of a streamed delta's tool_calls. The first
// delta of a call carries its index, id, type and function name; later
// ones the index and the next fragment of the arguments. Calls in one
// answer are told apart by Index, and their deltas may interleave.
type ToolCallDelta struct {
	Index    int               `json:"index"`
	ID       string            `json:"id,omitempty"`
	Type     string            `json:"type,omitempty"`
	Function FunctionCallDelta `json:"function"`
}

// FunctionCallDelta is a piece of a streamed function call.
type FunctionCallDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
}
