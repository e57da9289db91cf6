// Package protoconv converts between the gateway's contract (the
// llmgateway.v1 protobuf messages) and the provider-neutral types of
// package providers, in one place: the caller's messages, tools, tool
// choice, response format and reasoning into a [providers.Request], and an
// answer's parts, usage, finish reason and stream deltas back.
//
// It knows nothing of routing, caching or the server: the core calls it
// once per request on the way down and once per answer (or chunk) on the
// way up. Requests are assumed to have passed validation.
package protoconv

import (
	"encoding/json"
	"fmt"
	"math"

	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
)

// Role converts a message role; an unset role (refused by validation) is
// the user's.
func Role(r gatewayv1.Role) providers.Role {
	switch r {
	case gatewayv1.Role_ROLE_SYSTEM:
		return providers.RoleSystem
	case gatewayv1.Role_ROLE_ASSISTANT:
		return providers.RoleAssistant
	case gatewayv1.Role_ROLE_TOOL:
		return providers.RoleTool
	}
	return providers.RoleUser
}

// Request converts what req asks of a provider in its own words: its
// messages, tools, tool choice, response format and reasoning. The
// route's model, prompt and parameters are the caller's to add. Once per
// request: the quota link converts it for its estimate and the service
// goes on with the same value. The request holds the messages even when
// the error (a schema that cannot be written as JSON) is not nil.
func Request(req *gatewayv1.CompleteRequest) (*providers.Request, error) {
	p := &providers.Request{Messages: Messages(req.GetMessages())}
	return p, Apply(p, req)
}

// Messages converts the caller's messages. A message of plain content
// stays plain (Parts nil), exactly as before parts existed.
func Messages(ms []*gatewayv1.Message) []providers.Message {
	out := make([]providers.Message, len(ms))
	for i, m := range ms {
		out[i] = providers.Message{Role: Role(m.GetRole()), Content: m.GetContent(),
			CachePoint: cachePoint(m.GetCachePoint())}
		if ps := m.GetParts(); len(ps) > 0 {
			out[i].Parts = make([]providers.Part, len(ps))
			for j, p := range ps {
				out[i].Parts[j] = part(p)
			}
		}
	}
	return out
}

func part(p *gatewayv1.Part) providers.Part {
	out := providers.Part{CachePoint: cachePoint(p.GetCachePoint())}
	switch k := p.GetKind().(type) {
	case *gatewayv1.Part_Text:
		out.Kind, out.Text = providers.PartText, k.Text
	case *gatewayv1.Part_Image:
		out.Kind = providers.PartImage
		out.Image = &providers.Image{URL: k.Image.GetUrl(), Data: k.Image.GetData(), MediaType: k.Image.GetMediaType()}
	case *gatewayv1.Part_ToolCall:
		out.Kind = providers.PartToolCall
		out.ToolCall = &providers.ToolCall{ID: k.ToolCall.GetId(), Name: k.ToolCall.GetName(), Arguments: k.ToolCall.GetArguments()}
	case *gatewayv1.Part_ToolResult:
		out.Kind = providers.PartToolResult
		out.ToolResult = &providers.ToolResult{ToolCallID: k.ToolResult.GetToolCallId(),
			Content: k.ToolResult.GetContent(), IsError: k.ToolResult.GetIsError()}
	case *gatewayv1.Part_Thinking:
		out.Kind = providers.PartThinking
		out.Thinking = thinking(k.Thinking)
	}
	return out
}

func thinking(t *gatewayv1.Thinking) *providers.Thinking {
	return &providers.Thinking{Text: t.GetText(), Signature: t.GetSignature(), Redacted: t.GetRedacted()}
}

func cachePoint(c *gatewayv1.PromptCachePoint) *providers.CachePoint {
	if c == nil {
		return nil
	}
	return &providers.CachePoint{TTL: c.GetTtl().AsDuration()}
}

// Apply sets on p what req asks for beyond messages and sampling: tools,
// tool choice, parallel tool calls, response format and reasoning. It
// fails only for a schema given as a Struct that cannot be written as JSON
// (a NaN or infinite number).
func Apply(p *providers.Request, req *gatewayv1.CompleteRequest) error {
	if ts := req.GetTools(); len(ts) > 0 {
		p.Tools = make([]providers.Tool, len(ts))
		for i, t := range ts {
			params, err := SchemaJSON(t.GetParameters())
			if err != nil {
				return fmt.Errorf("tools[%d].parameters: %w", i, err)
			}
			p.Tools[i] = providers.Tool{Name: t.GetName(), Description: t.GetDescription(), Parameters: params}
		}
	}
	if tc := req.GetToolChoice(); tc != nil {
		p.ToolChoice = providers.ToolChoice{Mode: toolChoiceModes[tc.GetMode()], Name: tc.GetName()}
	}
	p.ParallelToolCalls = req.ParallelToolCalls
	if rf := req.GetResponseFormat(); rf != nil {
		schema, err := SchemaJSON(rf.GetSchema())
		if err != nil {
			return fmt.Errorf("response_format.schema: %w", err)
		}
		p.ResponseFormat = providers.ResponseFormat{Type: formatTypes[rf.GetType()], Name: rf.GetName(),
			Description: rf.GetDescription(), Schema: schema, Strict: rf.GetStrict()}
	}
	if r := req.GetReasoning(); r != nil {
		p.Reasoning = providers.Reasoning{Effort: efforts[r.GetEffort()], BudgetTokens: int(r.GetBudgetTokens())}
	}
	return nil
}

var toolChoiceModes = map[gatewayv1.ToolChoiceMode]providers.ToolChoiceMode{
	gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO:     providers.ToolChoiceAuto,
	gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_NONE:     providers.ToolChoiceNone,
	gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED: providers.ToolChoiceRequired,
	gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL:     providers.ToolChoiceTool,
}

var formatTypes = map[gatewayv1.ResponseFormatType]providers.ResponseFormatType{
	gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_OBJECT: providers.FormatJSONObject,
	gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA: providers.FormatJSONSchema,
}

var efforts = map[gatewayv1.ReasoningEffort]providers.ReasoningEffort{
	gatewayv1.ReasoningEffort_REASONING_EFFORT_MINIMAL: providers.EffortMinimal,
	gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW:     providers.EffortLow,
	gatewayv1.ReasoningEffort_REASONING_EFFORT_MEDIUM:  providers.EffortMedium,
	gatewayv1.ReasoningEffort_REASONING_EFFORT_HIGH:    providers.EffortHigh,
}

// SchemaJSON is a schema's JSON text: the caller's own text when given as
// json, exactly; a Struct written with sorted keys (encoding/json), so the
// same Struct always gives the same text. Nil for an unset schema.
func SchemaJSON(s *gatewayv1.JsonSchema) (json.RawMessage, error) {
	switch src := s.GetSource().(type) {
	case *gatewayv1.JsonSchema_Json:
		return json.RawMessage(src.Json), nil
	case *gatewayv1.JsonSchema_Object:
		b, err := json.Marshal(src.Object.AsMap())
		if err != nil {
			return nil, fmt.Errorf("the schema cannot be written as JSON: %w", err)
		}
		return b, nil
	}
	return nil, nil
}

// Parts converts an answer's parts; nil for a text-only answer.
func Parts(ps []providers.Part) []*gatewayv1.Part {
	if len(ps) == 0 {
		return nil
	}
	out := make([]*gatewayv1.Part, len(ps))
	for i, p := range ps {
		out[i] = protoPart(p)
	}
	return out
}

func protoPart(p providers.Part) *gatewayv1.Part {
	out := &gatewayv1.Part{}
	if p.CachePoint != nil {
		out.CachePoint = &gatewayv1.PromptCachePoint{}
		if p.CachePoint.TTL > 0 {
			out.CachePoint.Ttl = durationpb.New(p.CachePoint.TTL)
		}
	}
	switch p.Kind {
	case providers.PartText:
		out.Kind = &gatewayv1.Part_Text{Text: p.Text}
	case providers.PartImage:
		img := &gatewayv1.Image{MediaType: p.Image.MediaType}
		if p.Image.URL != "" {
			img.Source = &gatewayv1.Image_Url{Url: p.Image.URL}
		} else {
			img.Source = &gatewayv1.Image_Data{Data: p.Image.Data}
		}
		out.Kind = &gatewayv1.Part_Image{Image: img}
	case providers.PartToolCall:
		out.Kind = &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{
			Id: p.ToolCall.ID, Name: p.ToolCall.Name, Arguments: p.ToolCall.Arguments}}
	case providers.PartToolResult:
		out.Kind = &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{
			ToolCallId: p.ToolResult.ToolCallID, Content: p.ToolResult.Content, IsError: p.ToolResult.IsError}}
	case providers.PartThinking:
		out.Kind = &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{
			Text: p.Thinking.Text, Signature: p.Thinking.Signature, Redacted: p.Thinking.Redacted}}
	}
	return out
}

// ToolCallDelta converts a stream's tool-call delta; nil for nil.
func ToolCallDelta(d *providers.ToolCallDelta) *gatewayv1.ToolCallDelta {
	if d == nil {
		return nil
	}
	return &gatewayv1.ToolCallDelta{Index: clamp32(int64(d.Index)), Id: d.ID, Name: d.Name, Arguments: d.Arguments}
}

// ThinkingDelta converts a stream's thinking delta; nil for nil.
func ThinkingDelta(d *providers.ThinkingDelta) *gatewayv1.ThinkingDelta {
	if d == nil {
		return nil
	}
	return &gatewayv1.ThinkingDelta{Text: d.Text, Signature: d.Signature, Redacted: d.Redacted}
}

// FinishReason converts why generation stopped.
func FinishReason(f providers.FinishReason) gatewayv1.FinishReason {
	switch f {
	case providers.FinishStop:
		return gatewayv1.FinishReason_FINISH_REASON_STOP
	case providers.FinishLength:
		return gatewayv1.FinishReason_FINISH_REASON_LENGTH
	case providers.FinishContentFilter:
		return gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER
	case providers.FinishToolCalls:
		return gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS
	}
	return gatewayv1.FinishReason_FINISH_REASON_UNSPECIFIED
}

// Usage converts token counts.
func Usage(u providers.Usage) *gatewayv1.Usage {
	return &gatewayv1.Usage{
		InputTokens:              clamp32(u.InputTokens),
		OutputTokens:             clamp32(u.OutputTokens),
		CachedInputTokens:        clamp32(u.CachedInputTokens),
		CacheCreationInputTokens: clamp32(u.CacheCreationInputTokens),
		ReasoningTokens:          clamp32(u.ReasoningTokens),
	}
}

// clamp32 narrows a count for the wire; no single answer comes near the
// limit, but a corrupt upstream count must not wrap negative.
func clamp32(n int64) int32 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxInt32:
		return math.MaxInt32
	}
	return int32(n)
}
