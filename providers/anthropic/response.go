package anthropic

import (
	"encoding/json"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/anthropic"
)

// normalize converts usage counts to the gateway's meaning: InputTokens is
// the whole prompt, each cache count a part of it counted once.
func normalize(c *wire.Counts) providers.Usage {
	return providers.Usage{
		InputTokens:              c.Input + c.CacheCreation + c.CacheRead,
		OutputTokens:             c.Output,
		CachedInputTokens:        c.CacheRead,
		CacheCreationInputTokens: c.CacheCreation,
	}
}

// parseResponse maps a 2xx response body.
func (p *Provider) parseResponse(body []byte) (*providers.Response, error) {
	var w wire.Message
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, p.malformed(body, err)
	}
	switch w.Type {
	case wire.TypeMessage:
	case wire.TypeError:
		return nil, p.eventError(w.Error)
	default:
		return nil, p.malformed(body, nil)
	}
	var usage wire.Counts
	if w.Usage != nil {
		w.Usage.Merge(&usage)
	}
	return &providers.Response{
		ID:           w.ID,
		Model:        w.Model,
		Text:         wire.AnswerText(w.Content),
		FinishReason: finishReason(w.StopReason),
		Usage:        normalize(&usage),
	}, nil
}

// finishReason maps Anthropic's stop_reason.
func finishReason(s string) providers.FinishReason {
	switch s {
	case wire.StopEndTurn, wire.StopStopSequence, wire.StopPauseTurn:
		return providers.FinishStop
	case wire.StopMaxTokens, wire.StopContextWindowExceeded:
		return providers.FinishLength
	case wire.StopToolUse:
		return providers.FinishToolCalls
	case wire.StopRefusal:
		return providers.FinishContentFilter
	}
	return providers.FinishUnknown
}
