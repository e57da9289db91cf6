package bedrock

import (
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/careerpath/llmgateway/providers"
)

// response translates a Converse answer. A JSON answer's forced tool input
// becomes the answer text.
func (p *Provider) response(req *providers.Request, out *bedrockruntime.ConverseOutput) (*providers.Response, error) {
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return nil, providers.Errorf(providers.KindMalformed, p.name, "the answer holds no message")
	}
	jsonAnswer := req.ResponseFormat.Type != providers.FormatText
	r := &providers.Response{Model: req.Model, FinishReason: finish(out.StopReason, jsonAnswer)}
	r.ID, _ = middleware.GetRequestIDMetadata(out.ResultMetadata)
	var parts []providers.Part
	rich := false
	for _, b := range msg.Value.Content {
		switch b := b.(type) {
		case *types.ContentBlockMemberText:
			r.Text += b.Value
			parts = append(parts, providers.TextPart(b.Value))
		case *types.ContentBlockMemberReasoningContent:
			if part, ok := thinkingPart(b.Value); ok {
				rich = true
				parts = append(parts, part)
			}
		case *types.ContentBlockMemberToolUse:
			args := "{}"
			if b.Value.Input != nil {
				raw, err := b.Value.Input.MarshalSmithyDocument()
				if err != nil {
					return nil, providers.Errorf(providers.KindMalformed, p.name, "tool input: %v", err)
				}
				args = string(raw)
			}
			if jsonAnswer {
				r.Text += args
				parts = append(parts, providers.TextPart(args))
				continue
			}
			rich = true
			parts = append(parts, providers.Part{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{
				ID: deref(b.Value.ToolUseId), Name: deref(b.Value.Name), Arguments: args,
			}})
		}
	}
	if rich {
		r.Parts = &parts
	}
	r.Usage = usage(out.Usage)
	return r, nil
}

// finish maps a stop reason. A JSON answer's forced tool call is the
// answer, so it ends as a stop.
func finish(s types.StopReason, jsonAnswer bool) providers.FinishReason {
	switch s {
	case types.StopReasonEndTurn, types.StopReasonStopSequence:
		return providers.FinishStop
	case types.StopReasonToolUse:
		if jsonAnswer {
			return providers.FinishStop
		}
		return providers.FinishToolCalls
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return providers.FinishLength
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return providers.FinishContentFilter
	}
	return providers.FinishUnknown
}

// usage normalises Bedrock's counts: its inputTokens leaves out the
// tokens read from or written to the prompt cache.
func usage(u *types.TokenUsage) providers.Usage {
	if u == nil {
		return providers.Usage{}
	}
	read, write := int64(deref(u.CacheReadInputTokens)), int64(deref(u.CacheWriteInputTokens))
	return providers.Usage{
		InputTokens:              int64(deref(u.InputTokens)) + read + write,
		OutputTokens:             int64(deref(u.OutputTokens)),
		CachedInputTokens:        read,
		CacheCreationInputTokens: write,
	}
}

func deref[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}
