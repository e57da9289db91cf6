package cache

import (
	"encoding/binary"

	"github.com/careerpath/llmgateway/providers"
)

// rich reports whether r has anything beyond plain-text messages and
// sampling parameters that changes its answer.
func rich(r *providers.Request) bool {
	if len(r.Tools) > 0 || r.ToolChoice != (providers.ToolChoice{}) || r.ParallelToolCalls != nil ||
		r.ResponseFormat.Type != providers.FormatText || r.Reasoning != (providers.Reasoning{}) {
		return true
	}
	for _, m := range r.Messages {
		if len(m.Parts) > 0 {
			return true
		}
	}
	return false
}

// appendRich appends the rich section of r's encoding:
//
//	byte 1 (the section's marker)
//	per message: uvarint part count, then per part: byte kind and its
//	  fields as str (bool as one byte)
//	uvarint tool count, then per tool: str name, description, parameters
//	str tool choice mode, name; byte parallel tool calls (0 unset, 1 false, 2 true)
//	str response format type, name, description, schema; byte strict
//	str reasoning effort; varint budget
//
// Prompt-cache points are left out: they change what the vendor caches,
// not the answer.
func appendRich(b []byte, r *providers.Request) []byte {
	b = append(b, 1)
	for _, m := range r.Messages {
		b = binary.AppendUvarint(b, uint64(len(m.Parts)))
		for _, p := range m.Parts {
			b = appendPart(b, p)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(r.Tools)))
	for _, t := range r.Tools {
		b = appendString(b, t.Name)
		b = appendString(b, t.Description)
		b = appendString(b, string(t.Parameters))
	}
	b = appendString(b, string(r.ToolChoice.Mode))
	b = appendString(b, r.ToolChoice.Name)
	switch {
	case r.ParallelToolCalls == nil:
		b = append(b, 0)
	case !*r.ParallelToolCalls:
		b = append(b, 1)
	default:
		b = append(b, 2)
	}
	f := r.ResponseFormat
	b = appendString(b, string(f.Type))
	b = appendString(b, f.Name)
	b = appendString(b, f.Description)
	b = appendString(b, string(f.Schema))
	b = appendBool(b, f.Strict)
	b = appendString(b, string(r.Reasoning.Effort))
	return binary.AppendVarint(b, int64(r.Reasoning.BudgetTokens))
}

func appendPart(b []byte, p providers.Part) []byte {
	b = append(b, byte(p.Kind))
	switch {
	case p.Kind == providers.PartText:
		b = appendString(b, p.Text)
	case p.Kind == providers.PartImage && p.Image != nil:
		b = appendString(b, p.Image.URL)
		b = appendString(b, string(p.Image.Data))
		b = appendString(b, p.Image.MediaType)
	case p.Kind == providers.PartToolCall && p.ToolCall != nil:
		b = appendString(b, p.ToolCall.ID)
		b = appendString(b, p.ToolCall.Name)
		b = appendString(b, p.ToolCall.Arguments)
	case p.Kind == providers.PartToolResult && p.ToolResult != nil:
		b = appendString(b, p.ToolResult.ToolCallID)
		b = appendString(b, p.ToolResult.Content)
		b = appendBool(b, p.ToolResult.IsError)
	case p.Kind == providers.PartThinking && p.Thinking != nil:
		b = appendString(b, p.Thinking.Text)
		b = appendString(b, p.Thinking.Signature)
		b = appendString(b, p.Thinking.Redacted)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
