package openai

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Supports reports whether the backend honours f. Both kinds carry tools,
// tool choice, parallel tool calls, JSON answers, images, tool calls and
// results and the reasoning effort. Neither carries a thinking budget or
// thinking blocks passed back: Chat Completions has no field for them.
//
// A prompt-cache point is honoured by kind openai as a no-op by design:
// OpenAI caches every prompt prefix automatically and reports the cached
// tokens, so the prefix up to the point is cached without being asked.
// A compatible host promises no such thing, so kind openai-compatible
// refuses cache points.
func (p *Provider) Supports(f providers.Feature, _ string) bool {
	switch f {
	case providers.FeatureTools, providers.FeatureToolChoice, providers.FeatureParallelToolCalls,
		providers.FeatureJSONObject, providers.FeatureJSONSchema, providers.FeatureReasoningEffort,
		providers.FeatureParts, providers.FeatureImages, providers.FeatureToolCalls, providers.FeatureToolResults:
		return true
	case providers.FeaturePromptCache:
		return p.autoCache
	}
	return false
}

// rich reports whether req uses anything beyond plain-text messages.
func rich(req *providers.Request) bool {
	if len(req.Tools) > 0 || req.ToolChoice.Mode != providers.ToolChoiceDefault || req.ParallelToolCalls != nil ||
		req.ResponseFormat.Type != providers.FormatText || req.Reasoning != (providers.Reasoning{}) {
		return true
	}
	for i := range req.Messages {
		if req.Messages[i].Parts != nil || req.Messages[i].CachePoint != nil {
			return true
		}
	}
	return false
}

// fillRich translates the rich fields of req into r. It refuses by name
// what Chat Completions cannot carry.
func (p *Provider) fillRich(r *wire.ChatRequest, req *providers.Request) error {
	if req.Reasoning.BudgetTokens > 0 {
		return p.refuse(providers.FeatureReasoningBudget)
	}
	r.ReasoningEffort = string(req.Reasoning.Effort)
	if len(req.Tools) > 0 {
		tools := make([]wire.Tool, len(req.Tools))
		for i, t := range req.Tools {
			tools[i] = wire.Tool{Type: wire.ToolTypeFunction, Function: wire.FunctionDecl{
				Name: t.Name, Description: t.Description, Parameters: t.Parameters,
			}}
		}
		r.Tools = mustJSON(tools)
	}
	switch req.ToolChoice.Mode {
	case providers.ToolChoiceDefault:
	case providers.ToolChoiceAuto, providers.ToolChoiceNone, providers.ToolChoiceRequired:
		r.ToolChoice = mustJSON(string(req.ToolChoice.Mode))
	case providers.ToolChoiceTool:
		r.ToolChoice = mustJSON(wire.NamedToolChoice{Type: wire.ToolTypeFunction, Function: wire.FunctionName{Name: req.ToolChoice.Name}})
	default:
		return providers.Errorf(providers.KindBadRequest, p.name, "unknown tool_choice mode %q", req.ToolChoice.Mode)
	}
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = mustJSON(*req.ParallelToolCalls)
	}
	switch f := req.ResponseFormat; f.Type {
	case providers.FormatText:
	case providers.FormatJSONObject:
		r.ResponseFormat = &wire.ResponseFormat{Type: wire.FormatJSONObject}
	case providers.FormatJSONSchema:
		s := &wire.JSONSchema{Name: f.Name, Description: f.Description, Schema: f.Schema}
		if s.Name == "" {
			s.Name = "answer" // OpenAI requires a name
		}
		if f.Strict {
			strict := true
			s.Strict = &strict
		}
		r.ResponseFormat = &wire.ResponseFormat{Type: wire.FormatJSONSchema, JSONSchema: s}
	default:
		return providers.Errorf(providers.KindBadRequest, p.name, "unknown response format %q", f.Type)
	}
	r.Messages = r.Messages[:0]
	for i := range req.Messages {
		var err error
		if r.Messages, err = p.appendMessage(r.Messages, &req.Messages[i]); err != nil {
			return err
		}
	}
	return nil
}

// refuse is the error of a request needing a feature the backend does not
// honour.
func (p *Provider) refuse(f providers.Feature) *providers.Error {
	return providers.Errorf(providers.KindBadRequest, p.name, "%s is not supported by this provider", f)
}

// appendMessage appends the wire messages of m: one message, except that
// every tool result becomes a tool message of its own, in order.
func (p *Provider) appendMessage(out []wire.Message, m *providers.Message) ([]wire.Message, error) {
	if err := p.checkCachePoint(m.CachePoint); err != nil {
		return nil, err
	}
	if m.Parts == nil {
		return append(out, wire.Message{Role: string(m.Role), Content: wire.TextContent(m.Content)}), nil
	}
	var (
		cur     *wire.Message // the message parts other than tool results go to
		calls   []wire.ToolCall
		text    strings.Builder
		hasText bool
	)
	flush := func() {
		if cur == nil {
			return
		}
		if m.Role == providers.RoleAssistant {
			cur.Content = wire.Content{Text: text.String(), Null: !hasText && len(calls) > 0}
			if len(calls) > 0 {
				cur.ToolCalls = mustJSON(calls)
			}
		}
		out = append(out, *cur)
		cur, calls, hasText = nil, nil, false
		text.Reset()
	}
	for i := range m.Parts {
		part := &m.Parts[i]
		if err := p.checkCachePoint(part.CachePoint); err != nil {
			return nil, err
		}
		if part.Kind == providers.PartToolResult {
			flush()
			tr := part.ToolResult
			if tr == nil {
				return nil, providers.Errorf(providers.KindBadRequest, p.name, "tool_result part without a result")
			}
			if tr.IsError {
				return nil, providers.Errorf(providers.KindBadRequest, p.name,
					"messages.parts.tool_result.is_error is not supported by this provider: Chat Completions has no error flag on tool results")
			}
			out = append(out, wire.Message{Role: wire.RoleTool, ToolCallID: tr.ToolCallID, Content: wire.TextContent(tr.Content)})
			continue
		}
		if cur == nil {
			role := m.Role
			if role == providers.RoleTool {
				role = providers.RoleUser
			}
			cur = &wire.Message{Role: string(role), Content: wire.Content{Parts: []wire.Part{}}}
		}
		switch part.Kind {
		case providers.PartText:
			if m.Role == providers.RoleAssistant {
				text.WriteString(part.Text)
				hasText = true
			} else {
				cur.Content.Parts = append(cur.Content.Parts, wire.Part{Type: wire.PartText, Text: part.Text})
			}
		case providers.PartImage:
			if m.Role != providers.RoleUser || part.Image == nil {
				return nil, providers.Errorf(providers.KindBadRequest, p.name, "images are accepted only in user messages")
			}
			cur.Content.Parts = append(cur.Content.Parts, wire.Part{Type: wire.PartImageURL, ImageURL: &wire.ImageURL{URL: imageURL(part.Image)}})
		case providers.PartToolCall:
			if m.Role != providers.RoleAssistant || part.ToolCall == nil {
				return nil, providers.Errorf(providers.KindBadRequest, p.name, "tool calls are accepted only in assistant messages")
			}
			tc := part.ToolCall
			calls = append(calls, wire.ToolCall{ID: tc.ID, Type: wire.ToolTypeFunction,
				Function: wire.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
		default:
			return nil, p.refuse(providers.FeatureThinking)
		}
	}
	flush()
	return out, nil
}

// checkCachePoint refuses a cache point the backend cannot honour: any on
// a host without automatic caching, and one with a TTL, which automatic
// caching does not let a request choose.
func (p *Provider) checkCachePoint(cp *providers.CachePoint) error {
	switch {
	case cp == nil:
		return nil
	case !p.autoCache:
		return p.refuse(providers.FeaturePromptCache)
	case cp.TTL != 0:
		return providers.Errorf(providers.KindBadRequest, p.name, "cache_point.ttl is not supported by this provider: OpenAI decides how long it keeps cached prefixes")
	}
	return nil
}

// imageURL is the URL of img: its own, or a base64 data URL of its bytes.
func imageURL(img *providers.Image) string {
	if img.URL != "" {
		return img.URL
	}
	return "data:" + img.MediaType + ";base64," + base64.StdEncoding.EncodeToString(img.Data)
}

// mustJSON encodes a value whose encoding cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := wirejson.Marshal(nil, v)
	if err != nil {
		panic("openai: " + err.Error())
	}
	return b
}

// answerParts maps an answer's text and tool calls to parts, nil when it
// has no tool calls.
func answerParts(text string, raw json.RawMessage) ([]providers.Part, error) {
	if !wirejson.InUse(raw) {
		return nil, nil
	}
	var calls []wire.ToolCall
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, err
	}
	if len(calls) == 0 {
		return nil, nil
	}
	parts := make([]providers.Part, 0, len(calls)+1)
	if text != "" {
		parts = append(parts, providers.TextPart(text))
	}
	for _, c := range calls {
		parts = append(parts, providers.Part{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{
			ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments,
		}})
	}
	return parts, nil
}
