package bedrock

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/careerpath/llmgateway/providers"
)

// answerTool is the name of the tool a JSON answer is forced through.
const answerTool = "json_answer"

// converseInput translates req into a ConverseInput, refusing what
// Converse cannot honour by name before anything is sent.
func (p *Provider) converseInput(req *providers.Request) (*bedrockruntime.ConverseInput, error) {
	if bad := providers.Unsupported(p, req); len(bad) > 0 {
		names := make([]string, len(bad))
		for i, f := range bad {
			names[i] = string(f)
		}
		return nil, providers.Errorf(providers.KindBadRequest, p.name, "bedrock cannot honour %s", strings.Join(names, ", "))
	}
	if err := p.checkThinking(req); err != nil {
		return nil, err
	}
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(req.Model), AdditionalModelRequestFields: thinkingFields(req)}
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = p.maxTokens
	}
	ic := &types.InferenceConfiguration{MaxTokens: aws.Int32(int32(min(maxTokens, 1<<30)))}
	if req.Temperature != nil {
		ic.Temperature = aws.Float32(float32(*req.Temperature))
	}
	if req.TopP != nil {
		ic.TopP = aws.Float32(float32(*req.TopP))
	}
	ic.StopSequences = req.Stop
	in.InferenceConfig = ic

	for _, m := range req.Messages {
		if m.Role == providers.RoleSystem {
			if m.Content != "" {
				in.System = append(in.System, &types.SystemContentBlockMemberText{Value: m.Content})
			}
			for _, part := range m.Parts {
				if part.Kind != providers.PartText {
					return nil, providers.Errorf(providers.KindBadRequest, p.name, "a system message holds only text, not %s", part.Kind)
				}
				in.System = append(in.System, &types.SystemContentBlockMemberText{Value: part.Text})
				if part.CachePoint != nil {
					cp, err := p.systemCachePoint(part.CachePoint)
					if err != nil {
						return nil, err
					}
					in.System = append(in.System, cp)
				}
			}
			if m.CachePoint != nil {
				cp, err := p.systemCachePoint(m.CachePoint)
				if err != nil {
					return nil, err
				}
				in.System = append(in.System, cp)
			}
			continue
		}
		blocks, err := p.blocks(m)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		role := types.ConversationRoleUser
		if m.Role == providers.RoleAssistant {
			role = types.ConversationRoleAssistant
		}
		// Converse wants strict alternation: merge consecutive turns of
		// one role (tool results arrive as user turns).
		if n := len(in.Messages); n > 0 && in.Messages[n-1].Role == role {
			in.Messages[n-1].Content = append(in.Messages[n-1].Content, blocks...)
			continue
		}
		in.Messages = append(in.Messages, types.Message{Role: role, Content: blocks})
	}

	tc, err := p.toolConfig(req)
	if err != nil {
		return nil, err
	}
	in.ToolConfig = tc
	return in, nil
}

// cachePointBlock is a cache point with its TTL: Bedrock keeps a prefix
// for 5 minutes or an hour, and refuses any other length.
func (p *Provider) cachePointBlock(cp *providers.CachePoint) (types.CachePointBlock, error) {
	b := types.CachePointBlock{Type: types.CachePointTypeDefault}
	switch cp.TTL {
	case 0:
	case 5 * time.Minute:
		b.Ttl = types.CacheTTLFiveMinutes
	case time.Hour:
		b.Ttl = types.CacheTTLOneHour
	default:
		return b, providers.Errorf(providers.KindBadRequest, p.name, "cache_point.ttl %v: bedrock keeps a prefix for 5m or 1h", cp.TTL)
	}
	return b, nil
}

func (p *Provider) cachePoint(cp *providers.CachePoint) (types.ContentBlock, error) {
	b, err := p.cachePointBlock(cp)
	return &types.ContentBlockMemberCachePoint{Value: b}, err
}

func (p *Provider) systemCachePoint(cp *providers.CachePoint) (types.SystemContentBlock, error) {
	b, err := p.cachePointBlock(cp)
	return &types.SystemContentBlockMemberCachePoint{Value: b}, err
}

// blocks translates one non-system message into content blocks.
func (p *Provider) blocks(m providers.Message) ([]types.ContentBlock, error) {
	var out []types.ContentBlock
	if m.Content != "" {
		out = append(out, &types.ContentBlockMemberText{Value: m.Content})
	}
	for _, part := range m.Parts {
		switch part.Kind {
		case providers.PartText:
			out = append(out, &types.ContentBlockMemberText{Value: part.Text})
		case providers.PartImage:
			img := part.Image
			if img == nil || img.URL != "" || len(img.Data) == 0 {
				return nil, providers.Errorf(providers.KindBadRequest, p.name, "messages.parts.image.url: bedrock takes inline image bytes only")
			}
			format, ok := imageFormats[img.MediaType]
			if !ok {
				return nil, providers.Errorf(providers.KindBadRequest, p.name, "messages.parts.image.media_type %q: bedrock takes png, jpeg, gif or webp", img.MediaType)
			}
			out = append(out, &types.ContentBlockMemberImage{Value: types.ImageBlock{Format: format, Source: &types.ImageSourceMemberBytes{Value: img.Data}}})
		case providers.PartToolCall:
			tc := part.ToolCall
			var args any = map[string]any{}
			if strings.TrimSpace(tc.Arguments) != "" {
				if err := json.Unmarshal([]byte(tc.Arguments), &args); err != nil {
					return nil, providers.Errorf(providers.KindBadRequest, p.name, "tool call %q: arguments are not JSON", tc.ID)
				}
			}
			out = append(out, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
				ToolUseId: aws.String(tc.ID), Name: aws.String(tc.Name), Input: document.NewLazyDocument(args),
			}})
		case providers.PartToolResult:
			tr := part.ToolResult
			status := types.ToolResultStatusSuccess
			if tr.IsError {
				status = types.ToolResultStatusError
			}
			out = append(out, &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: aws.String(tr.ToolCallID),
				Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: tr.Content}},
				Status:    status,
			}})
		case providers.PartThinking:
			b, err := p.reasoningBlock(part.Thinking)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		default:
			return nil, providers.Errorf(providers.KindBadRequest, p.name, "bedrock cannot honour messages.parts.%s", part.Kind)
		}
		if part.CachePoint != nil {
			cp, err := p.cachePoint(part.CachePoint)
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		}
	}
	if m.CachePoint != nil && len(out) > 0 {
		cp, err := p.cachePoint(m.CachePoint)
		if err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	return out, nil
}

var imageFormats = map[string]types.ImageFormat{
	"image/png":  types.ImageFormatPng,
	"image/jpeg": types.ImageFormatJpeg,
	"image/gif":  types.ImageFormatGif,
	"image/webp": types.ImageFormatWebp,
}

// toolConfig is the request's tools and tool choice, or the forced answer
// tool of a JSON answer.
func (p *Provider) toolConfig(req *providers.Request) (*types.ToolConfiguration, error) {
	if req.ResponseFormat.Type != providers.FormatText {
		if len(req.Tools) > 0 {
			return nil, providers.Errorf(providers.KindBadRequest, p.name, "bedrock cannot combine tools with response_format (a JSON answer is a forced tool)")
		}
		schema := req.ResponseFormat.Schema
		if req.ResponseFormat.Type == providers.FormatJSONObject || len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		desc := req.ResponseFormat.Description
		if desc == "" {
			desc = "Give the answer as this tool's input."
		}
		spec, err := p.toolSpec(answerTool, desc, schema)
		if err != nil {
			return nil, err
		}
		return &types.ToolConfiguration{
			Tools:      []types.Tool{spec},
			ToolChoice: &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(answerTool)}},
		}, nil
	}
	if len(req.Tools) == 0 || req.ToolChoice.Mode == providers.ToolChoiceNone {
		return nil, nil
	}
	tc := &types.ToolConfiguration{}
	for _, t := range req.Tools {
		spec, err := p.toolSpec(t.Name, t.Description, t.Parameters)
		if err != nil {
			return nil, err
		}
		tc.Tools = append(tc.Tools, spec)
	}
	switch req.ToolChoice.Mode {
	case providers.ToolChoiceAuto:
		tc.ToolChoice = &types.ToolChoiceMemberAuto{}
	case providers.ToolChoiceRequired:
		tc.ToolChoice = &types.ToolChoiceMemberAny{}
	case providers.ToolChoiceTool:
		tc.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(req.ToolChoice.Name)}}
	}
	return tc, nil
}

func (p *Provider) toolSpec(name, desc string, schema json.RawMessage) (types.Tool, error) {
	var s any = map[string]any{"type": "object", "properties": map[string]any{}}
	if len(schema) > 0 {
		if err := json.Unmarshal(schema, &s); err != nil {
			return nil, providers.Errorf(providers.KindBadRequest, p.name, "tool %q: the schema is not JSON", name)
		}
	}
	spec := types.ToolSpecification{Name: aws.String(name), InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(s)}}
	if desc != "" {
		spec.Description = aws.String(desc)
	}
	return &types.ToolMemberToolSpec{Value: spec}, nil
}
