package bedrock

import (
	"encoding/base64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/careerpath/llmgateway/providers"
)

// thinks reports whether model is an Anthropic Claude model that thinks
// on Bedrock: a model id or inference profile id naming Claude 3.7 Sonnet
// or a later Claude ("anthropic.claude-sonnet-4-5-…",
// "us.anthropic.claude-3-7-sonnet-…", "global.anthropic.claude-haiku-4-5-…").
// Earlier Claude models (Claude 3, 3.5, 2, Instant) and every other vendor's
// model have no thinking, and requests for it are refused by name.
func thinks(model string) bool {
	_, rest, ok := strings.Cut(model, "anthropic.claude-")
	if !ok {
		return false
	}
	for _, old := range []string{"v2", "instant", "3-haiku", "3-sonnet", "3-opus", "3-5-"} {
		if strings.HasPrefix(rest, old) {
			return false
		}
	}
	return true
}

// takesBudget reports whether model takes a thinking budget: a Claude
// model that thinks, before Claude 5, whose models think adaptively and
// refuse a manual budget (their thinking still comes back, and goes back).
func takesBudget(model string) bool {
	if !thinks(model) {
		return false
	}
	_, rest, _ := strings.Cut(model, "anthropic.claude-")
	// "sonnet-5-5…", "opus-4-6…": a family, then the major version.
	family, version, ok := strings.Cut(rest, "-")
	if !ok || family == "" || family[0] < 'a' || family[0] > 'z' {
		return true // "3-7-sonnet-…"
	}
	major, _, _ := strings.Cut(version, "-")
	return len(major) != 1 || major[0] < '5' || major[0] > '9'
}

// thinkingFields are the additionalModelRequestFields that enable
// Claude's extended thinking with a budget, or nil when the request sets
// none.
func thinkingFields(req *providers.Request) document.Interface {
	b := req.Reasoning.BudgetTokens
	if b <= 0 {
		return nil
	}
	return document.NewLazyDocument(map[string]any{
		"thinking": map[string]any{"type": "enabled", "budget_tokens": b},
	})
}

// checkThinking refuses, before anything is sent, the combinations Claude
// refuses while thinking: a forced tool (a JSON answer is one), a
// temperature other than 1 and a top_p below 0.95.
func (p *Provider) checkThinking(req *providers.Request) error {
	if req.Reasoning.BudgetTokens <= 0 {
		return nil
	}
	if req.ResponseFormat.Type != providers.FormatText {
		return providers.Errorf(providers.KindBadRequest, p.name, "response_format %s cannot be combined with reasoning.budget_tokens on bedrock: the JSON answer is a forced tool, which Claude refuses while thinking", req.ResponseFormat.Type)
	}
	if m := req.ToolChoice.Mode; m == providers.ToolChoiceRequired || m == providers.ToolChoiceTool {
		return providers.Errorf(providers.KindBadRequest, p.name, "tool_choice %s cannot be combined with reasoning.budget_tokens: Claude refuses a forced tool while thinking", m)
	}
	if t := req.Temperature; t != nil && *t != 1 {
		return providers.Errorf(providers.KindBadRequest, p.name, "temperature %g cannot be combined with reasoning.budget_tokens: Claude takes only 1 while thinking", *t)
	}
	if tp := req.TopP; tp != nil && *tp < 0.95 {
		return providers.Errorf(providers.KindBadRequest, p.name, "top_p %g cannot be combined with reasoning.budget_tokens: Claude takes 0.95 to 1 while thinking", *tp)
	}
	return nil
}

// reasoningBlock is a thinking part as a reasoningContent block, its text
// and signature (or redacted data) exactly as received.
func (p *Provider) reasoningBlock(t *providers.Thinking) (types.ContentBlock, error) {
	if t == nil {
		return nil, providers.Errorf(providers.KindBadRequest, p.name, "messages.parts.thinking: the part carries no thinking")
	}
	if t.Redacted != "" {
		data, err := base64.StdEncoding.DecodeString(t.Redacted)
		if err != nil {
			return nil, providers.Errorf(providers.KindBadRequest, p.name, "messages.parts.thinking.redacted: not base64 as bedrock returned it")
		}
		return &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: data}}, nil
	}
	rt := types.ReasoningTextBlock{Text: aws.String(t.Text)}
	if t.Signature != "" {
		rt.Signature = aws.String(t.Signature)
	}
	return &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: rt}}, nil
}

// thinkingPart is a reasoningContent block of an answer as a thinking
// part; redacted data is carried base64-encoded.
func thinkingPart(b types.ReasoningContentBlock) (providers.Part, bool) {
	switch b := b.(type) {
	case *types.ReasoningContentBlockMemberReasoningText:
		return providers.Part{Kind: providers.PartThinking, Thinking: &providers.Thinking{
			Text: deref(b.Value.Text), Signature: deref(b.Value.Signature),
		}}, true
	case *types.ReasoningContentBlockMemberRedactedContent:
		return providers.Part{Kind: providers.PartThinking, Thinking: &providers.Thinking{
			Redacted: base64.StdEncoding.EncodeToString(b.Value),
		}}, true
	}
	return providers.Part{}, false
}

// thinkingDelta is a streamed reasoningContent delta as a thinking delta.
func thinkingDelta(d types.ReasoningContentBlockDelta) (*providers.ThinkingDelta, bool) {
	switch d := d.(type) {
	case *types.ReasoningContentBlockDeltaMemberText:
		if d.Value != "" {
			return &providers.ThinkingDelta{Text: d.Value}, true
		}
	case *types.ReasoningContentBlockDeltaMemberSignature:
		if d.Value != "" {
			return &providers.ThinkingDelta{Signature: d.Value}, true
		}
	case *types.ReasoningContentBlockDeltaMemberRedactedContent:
		if len(d.Value) > 0 {
			return &providers.ThinkingDelta{Redacted: base64.StdEncoding.EncodeToString(d.Value)}, true
		}
	}
	return nil, false
}
