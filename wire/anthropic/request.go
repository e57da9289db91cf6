package anthropic

import (
	"encoding/json"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// MessagesRequest is a Messages API request body (POST /v1/messages).
// Optional scalars are pointers so that "not set" stays apart from zero.
// Features the gateway does not act on yet are kept as raw JSON, so that
// a decoded request still says whether the caller used them.
type MessagesRequest struct {
	Model string `json:"model"`
	// MaxTokens is required by the API.
	MaxTokens *int64 `json:"max_tokens,omitempty"`
	// System is the system prompt, a string or text blocks.
	System        Content        `json:"system,omitzero"`
	Messages      []MessageParam `json:"messages"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          *int64         `json:"top_k,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Metadata      *Metadata      `json:"metadata,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	Thinking      *Thinking      `json:"thinking,omitempty"`

	Tools      json.RawMessage `json:"tools,omitempty"`
	ToolChoice json.RawMessage `json:"tool_choice,omitempty"`
	MCPServers json.RawMessage `json:"mcp_servers,omitempty"`
	// OutputConfig constrains the answer (structured output).
	OutputConfig *OutputConfig `json:"output_config,omitempty"`
	// OutputFormat is the older, beta spelling of OutputConfig.Format.
	OutputFormat *OutputFormat `json:"output_format,omitempty"`
}

// MessageParam is one turn of a request.
type MessageParam struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Metadata describes the request.
type Metadata struct {
	// UserID is an opaque end-user identifier.
	UserID string `json:"user_id,omitempty"`
}

// Thinking configures extended thinking.
type Thinking struct {
	// Type is "enabled" or "disabled".
	Type string `json:"type"`
	// BudgetTokens caps the thinking of an enabled configuration.
	BudgetTokens int64 `json:"budget_tokens,omitempty"`
}

// AppendJSON appends r as JSON. Requests with string contents and the
// common tuning fields are written by hand, in the field order of
// [MessagesRequest], without allocating; any other request goes through
// encoding/json, which writes the same bytes.
func (r *MessagesRequest) AppendJSON(b []byte) ([]byte, error) {
	if !r.simple() {
		return wirejson.Marshal(b, r)
	}
	b = append(b, `{"model":`...)
	b = wirejson.AppendString(b, r.Model)
	b = wirejson.AppendOptInt(b, `,"max_tokens":`, r.MaxTokens)
	if r.System.Text != "" {
		b = append(b, `,"system":`...)
		b = wirejson.AppendString(b, r.System.Text)
	}
	b = append(b, `,"messages":`...)
	b = wirejson.AppendTextMessages(b, r.Messages, func(m *MessageParam) (string, string) { return m.Role, m.Content.Text })
	b = wirejson.AppendOptFloat(b, `,"temperature":`, r.Temperature)
	b = wirejson.AppendOptFloat(b, `,"top_p":`, r.TopP)
	b = wirejson.AppendOptInt(b, `,"top_k":`, r.TopK)
	if len(r.StopSequences) > 0 {
		b = append(b, `,"stop_sequences":`...)
		b = wirejson.AppendStringArray(b, r.StopSequences)
	}
	if r.Metadata != nil {
		b = append(b, `,"metadata":{`...)
		if r.Metadata.UserID != "" {
			b = append(b, `"user_id":`...)
			b = wirejson.AppendString(b, r.Metadata.UserID)
		}
		b = append(b, '}')
	}
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}'), nil
}

// simple reports whether the hand-written encoder covers r.
func (r *MessagesRequest) simple() bool {
	if r.System.Blocks != nil || r.Messages == nil || r.Thinking != nil ||
		r.Tools != nil || r.ToolChoice != nil || r.MCPServers != nil || r.OutputConfig != nil || r.OutputFormat != nil {
		return false
	}
	for i := range r.Messages {
		if r.Messages[i].Content.Blocks != nil {
			return false
		}
	}
	return true
}
