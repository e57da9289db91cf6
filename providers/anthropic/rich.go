package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/anthropic"
)

// JSONAnswerTool is the name of the tool a structured-output request
// forces when it uses the forced-tool technique; its input is the answer.
const JSONAnswerTool = "json_answer"

// The structured-output modes of [Options].StructuredOutput.
const (
	// StructuredAuto uses [StructuredNative] for the models known to
	// support output_config.format and [StructuredTool] for the others.
	StructuredAuto = "auto"
	// StructuredNative sends output_config.format with the JSON schema.
	StructuredNative = "native"
	// StructuredTool forces a tool named [JSONAnswerTool] whose input
	// schema is the answer's schema and unwraps its input into the text.
	StructuredTool = "tool"
)

// nativeStructuredModels are the model name prefixes that take
// output_config.format. The Claude 5 models refuse a forced tool, so
// output_config.format is the only way to a JSON-schema answer on them.
var nativeStructuredModels = []string{
	"claude-sonnet-4-5", "claude-opus-4-1", "claude-opus-4-5", "claude-haiku-4-5",
	"claude-sonnet-4.5", "claude-opus-4.1", "claude-opus-4.5", "claude-haiku-4.5",
	"claude-sonnet-4-6", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8",
	"claude-sonnet-5", "claude-opus-5", "claude-haiku-5",
}

// nativeStructured reports whether a JSON-schema answer for model goes
// through output_config.format.
func (p *Provider) nativeStructured(model string) bool {
	switch p.structured {
	case StructuredNative:
		return true
	case StructuredTool:
		return false
	}
	for _, prefix := range nativeStructuredModels {
		if strings.HasPrefix(model, prefix) {
			return true
		}
	}
	return false
}

// Supports implements [providers.FeatureSupporter]: every feature of the
// neutral request but a reasoning effort, which the Messages API does not
// take (a thinking budget is how it tunes reasoning).
func (p *Provider) Supports(f providers.Feature, _ string) bool {
	return f != providers.FeatureReasoningEffort
}

// rich reports whether req needs more than the plain-text translation.
func rich(req *providers.Request) bool {
	if len(req.Tools) > 0 || req.ToolChoice.Mode != providers.ToolChoiceDefault || req.ParallelToolCalls != nil ||
		req.ResponseFormat.Type != providers.FormatText || req.Reasoning != (providers.Reasoning{}) {
		return true
	}
	for i := range req.Messages {
		if req.Messages[i].Parts != nil || req.Messages[i].CachePoint != nil || req.Messages[i].Role == providers.RoleTool {
			return true
		}
	}
	return false
}

// cacheControl is the wire breakpoint of c, nil for none.
func cacheControl(c *providers.CachePoint) *wire.CacheControl {
	if c == nil {
		return nil
	}
	cc := &wire.CacheControl{Type: "ephemeral"}
	switch {
	case c.TTL == 0:
	case c.TTL <= 5*time.Minute:
		cc.TTL = "5m"
	default:
		cc.TTL = "1h"
	}
	return cc
}

// fillRich translates a validated rich request: content as blocks, tool
// results in user turns (consecutive ones merged into one message), tools,
// tool choice, thinking and structured output. It reports whether the
// answer is the input of a forced [JSONAnswerTool] call.
func (t *translation) fillRich(p *Provider, req *providers.Request) (unwrap bool, err error) {
	r := &t.r
	bad := func(format string, args ...any) error {
		return providers.Errorf(providers.KindBadRequest, p.name, format, args...)
	}

	// The system prompt: blocks when any system turn carries a cache point.
	var system []wire.Block
	cached := false
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != providers.RoleSystem {
			continue
		}
		text := messageText(m)
		if text == "" {
			continue
		}
		cc := cacheControl(m.CachePoint)
		for j := range m.Parts {
			if m.Parts[j].CachePoint != nil {
				cc = cacheControl(m.Parts[j].CachePoint)
			}
		}
		cached = cached || cc != nil
		system = append(system, wire.Block{Type: wire.BlockText, Text: text, CacheControl: cc})
	}
	if cached {
		r.System = wire.Content{Blocks: system}
	} else {
		for _, b := range system {
			r.System.Text = joinTurns(r.System.Text, b.Text)
		}
	}

	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == providers.RoleSystem {
			continue
		}
		blocks, err := messageBlocks(m)
		if err != nil {
			return false, bad("messages[%d]: %v", i, err)
		}
		if len(blocks) == 0 {
			continue
		}
		if cc := cacheControl(m.CachePoint); cc != nil {
			blocks[len(blocks)-1].CacheControl = cc
		}
		role := wire.RoleUser
		if m.Role == providers.RoleAssistant {
			role = wire.RoleAssistant
		}
		if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == role {
			last := &r.Messages[n-1].Content
			last.Blocks = append(last.Blocks, blocks...)
			continue
		}
		r.Messages = append(r.Messages, wire.MessageParam{Role: role, Content: wire.Content{Blocks: blocks}})
	}

	tools := make([]wire.Tool, 0, len(req.Tools)+1)
	for _, tl := range req.Tools {
		schema := tl.Parameters
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		tools = append(tools, wire.Tool{Name: tl.Name, Description: tl.Description, InputSchema: schema})
	}
	var choice *wire.ToolChoice
	switch req.ToolChoice.Mode {
	case providers.ToolChoiceAuto:
		choice = &wire.ToolChoice{Type: wire.ToolChoiceAuto}
	case providers.ToolChoiceRequired:
		choice = &wire.ToolChoice{Type: wire.ToolChoiceAny}
	case providers.ToolChoiceNone:
		choice = &wire.ToolChoice{Type: wire.ToolChoiceNone}
	case providers.ToolChoiceTool:
		choice = &wire.ToolChoice{Type: wire.ToolChoiceTool, Name: req.ToolChoice.Name}
	}
	if pt := req.ParallelToolCalls; pt != nil && !*pt {
		if choice == nil {
			choice = &wire.ToolChoice{Type: wire.ToolChoiceAuto}
		}
		if choice.Type != wire.ToolChoiceNone {
			choice.DisableParallelToolUse = true
		}
	}

	if b := req.Reasoning.BudgetTokens; b > 0 {
		r.Thinking = &wire.Thinking{Type: "enabled", BudgetTokens: int64(b)}
	}

	switch rf := &req.ResponseFormat; rf.Type {
	case providers.FormatJSONSchema:
		if p.nativeStructured(req.Model) {
			r.OutputConfig = &wire.OutputConfig{Format: &wire.OutputFormat{Type: wire.FormatJSONSchema, Schema: rf.Schema}}
			break
		}
		unwrap = true
	case providers.FormatJSONObject:
		unwrap = true
	}
	if unwrap {
		if len(req.Tools) > 0 || req.ToolChoice.Mode != providers.ToolChoiceDefault {
			return false, bad("response_format %s with tools needs the native structured output (provider option structured_output %q)", req.ResponseFormat.Type, StructuredNative)
		}
		if r.Thinking != nil {
			return false, bad("response_format %s cannot be combined with reasoning.budget_tokens on model %q: Anthropic forbids forcing a tool while thinking", req.ResponseFormat.Type, req.Model)
		}
		schema := req.ResponseFormat.Schema
		if req.ResponseFormat.Type == providers.FormatJSONObject || len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		desc := req.ResponseFormat.Description
		if desc == "" {
			desc = "Give the answer as this tool's input."
		}
		tools = append(tools, wire.Tool{Name: JSONAnswerTool, Description: desc, InputSchema: schema})
		choice = &wire.ToolChoice{Type: wire.ToolChoiceTool, Name: JSONAnswerTool, DisableParallelToolUse: true}
	}
	if len(tools) > 0 {
		raw, err := json.Marshal(tools)
		if err != nil {
			return false, bad("tools: %v", err)
		}
		r.Tools = raw
	}
	if choice != nil {
		raw, err := json.Marshal(choice)
		if err != nil {
			return false, bad("tool_choice: %v", err)
		}
		r.ToolChoice = raw
	}
	return unwrap, nil
}

// messageText is the text of a message: its content, or its text parts
// joined.
func messageText(m *providers.Message) string {
	if m.Parts == nil {
		return m.Content
	}
	var sb strings.Builder
	for _, pt := range m.Parts {
		if pt.Kind == providers.PartText {
			sb.WriteString(pt.Text)
		}
	}
	return sb.String()
}

// messageBlocks translates a message's content into content blocks.
func messageBlocks(m *providers.Message) ([]wire.Block, error) {
	if m.Parts == nil {
		if m.Content == "" {
			return nil, nil
		}
		return []wire.Block{{Type: wire.BlockText, Text: m.Content}}, nil
	}
	blocks := make([]wire.Block, 0, len(m.Parts))
	for j := range m.Parts {
		pt := &m.Parts[j]
		var b wire.Block
		switch pt.Kind {
		case providers.PartText:
			if pt.Text == "" {
				continue
			}
			b = wire.Block{Type: wire.BlockText, Text: pt.Text}
		case providers.PartImage:
			src, err := imageSource(pt.Image)
			if err != nil {
				return nil, err
			}
			raw, err := json.Marshal(src)
			if err != nil {
				return nil, err
			}
			b = wire.Block{Type: wire.BlockImage, Source: raw}
		case providers.PartToolCall:
			args := json.RawMessage(strings.TrimSpace(pt.ToolCall.Arguments))
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			if !json.Valid(args) || args[0] != '{' {
				return nil, fmt.Errorf("tool call %q: arguments are not a JSON object", pt.ToolCall.ID)
			}
			b = wire.Block{Type: wire.BlockToolUse, ID: pt.ToolCall.ID, Name: pt.ToolCall.Name, Input: args}
		case providers.PartToolResult:
			content, err := json.Marshal(pt.ToolResult.Content)
			if err != nil {
				return nil, err
			}
			b = wire.Block{Type: wire.BlockToolResult, ToolUseID: pt.ToolResult.ToolCallID, Content: content, IsError: pt.ToolResult.IsError}
		case providers.PartThinking:
			if pt.Thinking.Redacted != "" {
				b = wire.Block{Type: wire.BlockRedactedThinking, Data: pt.Thinking.Redacted}
			} else {
				b = wire.Block{Type: wire.BlockThinking, Thinking: pt.Thinking.Text, Signature: pt.Thinking.Signature}
			}
		default:
			return nil, fmt.Errorf("part %d: kind %s is not supported", j, pt.Kind)
		}
		b.CacheControl = cacheControl(pt.CachePoint)
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// imageSource is the wire source of img: base64 data (a data: URL is
// decoded into it) or an https URL.
func imageSource(img *providers.Image) (wire.ImageSource, error) {
	if img == nil {
		return wire.ImageSource{}, fmt.Errorf("image part without an image")
	}
	if len(img.Data) > 0 {
		return wire.ImageSource{Type: wire.SourceBase64, MediaType: img.MediaType, Data: base64.StdEncoding.EncodeToString(img.Data)}, nil
	}
	if rest, ok := strings.CutPrefix(img.URL, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !found || !isB64 || mt == "" {
			return wire.ImageSource{}, fmt.Errorf("image data URL must be data:<media type>;base64,<data>")
		}
		return wire.ImageSource{Type: wire.SourceBase64, MediaType: mt, Data: data}, nil
	}
	return wire.ImageSource{Type: wire.SourceURL, URL: img.URL}, nil
}

// answerParts maps an answer's blocks to parts, nil when the answer is
// only text. With unwrap the input of the forced [JSONAnswerTool] call is
// the answer's text instead of a call.
func answerParts(blocks []wire.Block, unwrap bool) (text string, parts *[]providers.Part) {
	only := true
	for i := range blocks {
		if blocks[i].Type != wire.BlockText && (!unwrap || !isAnswerTool(&blocks[i])) {
			only = false
		}
	}
	if unwrap {
		var sb strings.Builder
		for i := range blocks {
			if isAnswerTool(&blocks[i]) {
				sb.Write(blocks[i].Input)
			}
		}
		text = sb.String()
	} else {
		text = wire.AnswerText(blocks)
	}
	if only {
		return text, nil
	}
	out := make([]providers.Part, 0, len(blocks))
	for i := range blocks {
		b := &blocks[i]
		switch b.Type {
		case wire.BlockText:
			if !unwrap {
				out = append(out, providers.TextPart(b.Text))
			}
		case wire.BlockToolUse:
			if unwrap && b.Name == JSONAnswerTool {
				out = append(out, providers.TextPart(string(b.Input)))
				continue
			}
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			out = append(out, providers.Part{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}})
		case wire.BlockThinking:
			out = append(out, providers.Part{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: b.Thinking, Signature: b.Signature}})
		case wire.BlockRedactedThinking:
			out = append(out, providers.Part{Kind: providers.PartThinking, Thinking: &providers.Thinking{Redacted: b.Data}})
		}
	}
	return text, &out
}

func isAnswerTool(b *wire.Block) bool { return b.Type == wire.BlockToolUse && b.Name == JSONAnswerTool }
