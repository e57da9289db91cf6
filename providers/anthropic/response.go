package anthropic

import (
	"encoding/json"
	"strings"

	"github.com/careerpath/llmgateway/providers"
)

// wireUsage is the Messages API usage object. Anthropic's input_tokens
// counts only the uncached part of the prompt.
type wireUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
}

// absent marks a usage field the JSON did not carry: fields are set to it
// before decoding, and a value still negative afterwards is ignored.
const absent = -1

func (u *wireUsage) markAbsent() {
	*u = wireUsage{absent, absent, absent, absent}
}

// mergeInto overrides the fields of dst that u carries. Anthropic's usage
// values are cumulative, so a later value replaces an earlier one; they are
// never summed.
func (u *wireUsage) mergeInto(dst *wireUsage) {
	if u.InputTokens >= 0 {
		dst.InputTokens = u.InputTokens
	}
	if u.CacheCreationInputTokens >= 0 {
		dst.CacheCreationInputTokens = u.CacheCreationInputTokens
	}
	if u.CacheReadInputTokens >= 0 {
		dst.CacheReadInputTokens = u.CacheReadInputTokens
	}
	if u.OutputTokens >= 0 {
		dst.OutputTokens = u.OutputTokens
	}
}

// normalize converts to the gateway's meaning: InputTokens is the whole
// prompt, each cache count a part of it counted once.
func (u *wireUsage) normalize() providers.Usage {
	return providers.Usage{
		InputTokens:              u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		OutputTokens:             u.OutputTokens,
		CachedInputTokens:        u.CacheReadInputTokens,
		CacheCreationInputTokens: u.CacheCreationInputTokens,
	}
}

// wireError is the error object of an error response or stream event.
type wireError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// wireBlock is one content block; only text blocks carry answer text.
type wireBlock struct {
	Type wireType `json:"type"`
	Text string   `json:"text"`
}

// wireResponse is a Messages API response body (or an error body, whose
// type is "error").
type wireResponse struct {
	Type       wireType    `json:"type"`
	ID         string      `json:"id"`
	Model      string      `json:"model"`
	Content    []wireBlock `json:"content"`
	StopReason string      `json:"stop_reason"`
	Usage      wireUsage   `json:"usage"`
	Error      wireError   `json:"error"`
}

// parseResponse maps a 2xx response body.
func (p *Provider) parseResponse(body []byte) (*providers.Response, error) {
	var w wireResponse
	w.Usage.markAbsent()
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, p.malformed(body, err)
	}
	switch w.Type {
	case typeMessage:
	case typeError:
		return nil, p.eventError(&w.Error)
	default:
		return nil, p.malformed(body, nil)
	}
	var usage wireUsage
	w.Usage.mergeInto(&usage)
	return &providers.Response{
		ID:           w.ID,
		Model:        w.Model,
		Text:         joinText(w.Content),
		FinishReason: finishReason(w.StopReason),
		Usage:        usage.normalize(),
	}, nil
}

// joinText concatenates the text blocks, ignoring thinking, tool_use and
// other block types.
func joinText(blocks []wireBlock) string {
	n, count, only := 0, 0, ""
	for i := range blocks {
		if blocks[i].Type == typeText {
			n += len(blocks[i].Text)
			count++
			only = blocks[i].Text
		}
	}
	if count <= 1 {
		return only
	}
	var b strings.Builder
	b.Grow(n)
	for i := range blocks {
		if blocks[i].Type == typeText {
			b.WriteString(blocks[i].Text)
		}
	}
	return b.String()
}

// finishReason maps Anthropic's stop_reason.
func finishReason(s string) providers.FinishReason {
	switch s {
	case "end_turn", "stop_sequence", "pause_turn":
		return providers.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return providers.FinishLength
	case "tool_use":
		return providers.FinishToolCalls
	case "refusal":
		return providers.FinishContentFilter
	}
	return providers.FinishUnknown
}
