package anthropic

import (
	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/anthropic"
	"github.com/careerpath/llmgateway/wire/wirejson"
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
// With unwrap the input of the forced [JSONAnswerTool] call is the answer.
func (p *Provider) parseResponse(body []byte, unwrap bool) (*providers.Response, error) {
	var w wire.Message
	if err := wirejson.Unmarshal(body, &w); err != nil {
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
	text, parts := answerParts(w.Content, unwrap)
	finish := finishReason(w.StopReason)
	if unwrap && finish == providers.FinishToolCalls {
		finish = providers.FinishStop
	}
	return &providers.Response{
		ID:           w.ID,
		Model:        w.Model,
		Text:         text,
		Parts:        parts,
		FinishReason: finish,
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
