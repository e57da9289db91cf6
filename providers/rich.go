package providers

import (
	"encoding/json"
	"time"
)

// PartKind is what a [Part] holds.
type PartKind int

// The kinds of part.
const (
	// PartText is plain text (Part.Text).
	PartText PartKind = iota
	// PartImage is a picture (Part.Image).
	PartImage
	// PartToolCall is the model asking for a tool (Part.ToolCall).
	PartToolCall
	// PartToolResult is the application's answer to a tool call
	// (Part.ToolResult).
	PartToolResult
	// PartThinking is the model's reasoning (Part.Thinking).
	PartThinking
)

var partKindNames = [...]string{
	PartText:       "text",
	PartImage:      "image",
	PartToolCall:   "tool_call",
	PartToolResult: "tool_result",
	PartThinking:   "thinking",
}

// String is the kind's snake_case name, as the contract names the field.
func (k PartKind) String() string {
	if k < 0 || int(k) >= len(partKindNames) {
		return "unknown"
	}
	return partKindNames[k]
}

// Part is one piece of a message's content. Kind says which of the other
// fields is set.
type Part struct {
	Kind PartKind
	// Text is the text of a [PartText].
	Text string
	// Image is the picture of a [PartImage].
	Image *Image
	// ToolCall is the call of a [PartToolCall].
	ToolCall *ToolCall
	// ToolResult is the result of a [PartToolResult].
	ToolResult *ToolResult
	// Thinking is the reasoning of a [PartThinking].
	Thinking *Thinking
	// CachePoint, when set, marks the end of the part as a prompt-cache
	// breakpoint.
	CachePoint *CachePoint
}

// TextPart is a [PartText] of s.
func TextPart(s string) Part { return Part{Kind: PartText, Text: s} }

// Image is a picture, by URL or inline. Exactly one of URL and Data is set;
// MediaType is set with Data.
type Image struct {
	// URL is an https: or data: URL.
	URL string
	// Data is the picture's bytes.
	Data []byte
	// MediaType is image/png, image/jpeg, image/gif or image/webp.
	MediaType string
}

// ToolCall is the model asking for a tool.
type ToolCall struct {
	// ID identifies the call; its result names it.
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is a JSON object in text, exactly as the model wrote it.
	Arguments string
}

// ToolResult is the application's answer to one tool call.
type ToolResult struct {
	// ToolCallID is the ID of the call answered.
	ToolCallID string
	// Content is the result, as text.
	Content string
	// IsError says the call failed and Content describes the failure.
	IsError bool
}

// Thinking is a model's reasoning: Text with its Signature, or Redacted
// data. Either goes back to the vendor exactly as received.
type Thinking struct {
	Text      string
	Signature string
	Redacted  string
}

// CachePoint is a prompt-cache breakpoint: the vendor caches the prompt up
// to and including what carries it.
type CachePoint struct {
	// TTL is how long the vendor keeps the prefix; 0 means its default.
	TTL time.Duration
}

// Tool is a function the model may call.
type Tool struct {
	// Name identifies the tool in calls.
	Name string
	// Description says what the tool does.
	Description string
	// Parameters is the JSON Schema of the arguments, exactly as the
	// caller gave it; nil when the tool takes none.
	Parameters json.RawMessage
}

// ToolChoiceMode says whether the model must call a tool.
type ToolChoiceMode string

// Tool choice modes. The zero value leaves the choice to the vendor.
const (
	ToolChoiceDefault  ToolChoiceMode = ""
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
	// ToolChoiceTool makes the model call the tool named in ToolChoice.Name.
	ToolChoiceTool ToolChoiceMode = "tool"
)

// ToolChoice says whether and which tools the model must call.
type ToolChoice struct {
	Mode ToolChoiceMode
	// Name is the tool to call with [ToolChoiceTool].
	Name string
}

// ResponseFormatType is the form of the answer.
type ResponseFormatType string

// Response formats. The zero value is text.
const (
	FormatText       ResponseFormatType = ""
	FormatJSONObject ResponseFormatType = "json_object"
	FormatJSONSchema ResponseFormatType = "json_schema"
)

// ResponseFormat is the form the answer must take.
type ResponseFormat struct {
	Type ResponseFormatType
	// Name names the schema for the vendor.
	Name string
	// Description says what the answer is for.
	Description string
	// Schema is the JSON Schema of a [FormatJSONSchema] answer, exactly as
	// the caller gave it.
	Schema json.RawMessage
	// Strict asks the vendor to constrain generation to the schema.
	Strict bool
}

// ReasoningEffort is how hard a reasoning model thinks.
type ReasoningEffort string

// Reasoning efforts. The zero value leaves it to the vendor.
const (
	EffortDefault ReasoningEffort = ""
	EffortMinimal ReasoningEffort = "minimal"
	EffortLow     ReasoningEffort = "low"
	EffortMedium  ReasoningEffort = "medium"
	EffortHigh    ReasoningEffort = "high"
)

// Reasoning tunes reasoning models: an effort or a budget, not both.
type Reasoning struct {
	Effort ReasoningEffort
	// BudgetTokens caps the tokens spent thinking; 0 means unset.
	BudgetTokens int
}

// ToolCallDelta is a piece of a streamed tool call: the first of a call
// carries Index, ID and Name, later ones Index and the next Arguments
// fragment.
type ToolCallDelta struct {
	Index     int
	ID, Name  string
	Arguments string
}

// ThinkingDelta is a piece of streamed reasoning.
type ThinkingDelta struct {
	Text      string
	Signature string
	Redacted  string
}
