package openai

import (
	"strconv"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// AppendJSON appends r as JSON. Requests that use only text messages and
// the common tuning fields are written by hand, in the field order of
// [ChatRequest], without allocating; any other request goes through
// encoding/json, which writes the same bytes.
func (r *ChatRequest) AppendJSON(b []byte) ([]byte, error) {
	if !r.simple() {
		return wirejson.Marshal(b, r)
	}
	b = append(b, `{"model":`...)
	b = wirejson.AppendString(b, r.Model)
	b = append(b, `,"messages":`...)
	b = wirejson.AppendTextMessages(b, r.Messages, func(m *Message) (string, string) { return m.Role, m.Content.Text })
	b = wirejson.AppendOptInt(b, `,"max_tokens":`, r.MaxTokens)
	b = wirejson.AppendOptInt(b, `,"max_completion_tokens":`, r.MaxCompletionTokens)
	b = wirejson.AppendOptFloat(b, `,"temperature":`, r.Temperature)
	b = wirejson.AppendOptFloat(b, `,"top_p":`, r.TopP)
	if len(r.Stop) > 0 {
		b = append(b, `,"stop":`...)
		b = wirejson.AppendStringArray(b, r.Stop)
	}
	b = wirejson.AppendOptInt(b, `,"seed":`, r.Seed)
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = wirejson.AppendString(b, r.User)
	}
	if r.SafetyIdentifier != "" {
		b = append(b, `,"safety_identifier":`...)
		b = wirejson.AppendString(b, r.SafetyIdentifier)
	}
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	if r.StreamOptions != nil {
		b = append(b, `,"stream_options":{"include_usage":`...)
		b = strconv.AppendBool(b, r.StreamOptions.IncludeUsage)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// simple reports whether the hand-written encoder covers r.
func (r *ChatRequest) simple() bool {
	if r.N != nil || r.ResponseFormat != nil || r.ReasoningEffort != "" || r.Modalities != nil || r.Messages == nil ||
		r.Logprobs != nil || r.Tools != nil || r.ToolChoice != nil || r.ParallelToolCalls != nil ||
		r.Functions != nil || r.Audio != nil || r.WebSearchOptions != nil {
		return false
	}
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Content.Parts != nil || m.Content.Null || m.Name != "" || m.ToolCalls != nil || m.ToolCallID != "" || m.FunctionCall != nil {
			return false
		}
	}
	return true
}
