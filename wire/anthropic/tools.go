package anthropic

import "encoding/json"

// Tool is a client tool of a request's tools array.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	// CacheControl marks a prompt-cache breakpoint after this tool.
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// The tool_choice types.
const (
	ToolChoiceAuto = "auto"
	ToolChoiceAny  = "any"
	ToolChoiceTool = "tool"
	ToolChoiceNone = "none"
)

// ToolChoice is a request's tool_choice.
type ToolChoice struct {
	// Type is auto, any, tool or none.
	Type string `json:"type"`
	// Name is the tool a "tool" choice forces.
	Name string `json:"name,omitempty"`
	// DisableParallelToolUse limits the answer to one tool call.
	DisableParallelToolUse bool `json:"disable_parallel_tool_use,omitempty"`
}

// The image source types.
const (
	SourceBase64 = "base64"
	SourceURL    = "url"
)

// ImageSource is an image block's source: base64 data with its media type,
// or a URL.
type ImageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// OutputConfig is a request's output_config.
type OutputConfig struct {
	// Format constrains the answer, e.g. to a JSON schema.
	Format *OutputFormat `json:"format,omitempty"`
}

// OutputFormat is the form of the answer: Type "json_schema" with Schema.
type OutputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

// FormatJSONSchema is the json_schema output format type.
const FormatJSONSchema = "json_schema"
