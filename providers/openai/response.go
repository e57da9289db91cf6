package openai

import (
	"encoding/json"
	"net/http"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/openai"
)

// toUsage normalises OpenAI's usage: prompt_tokens already includes the
// cached tokens.
func toUsage(u *wire.Usage) providers.Usage {
	if u == nil {
		return providers.Usage{}
	}
	return providers.Usage{
		InputTokens:       u.PromptTokens,
		OutputTokens:      u.CompletionTokens,
		CachedInputTokens: u.CachedTokens(),
	}
}

// parseCompletion maps a 2xx chat.completion body to a Response.
func (p *Provider) parseCompletion(body []byte, resp *http.Response) (*providers.Response, error) {
	var c wire.ChatCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		ct := mediaType(resp.Header.Get("Content-Type"))
		if ct == "" {
			ct = "no content type"
		}
		return nil, p.malformed(resp.StatusCode, "response is not a chat completion ("+ct+")", body)
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		return nil, p.inBandError(c.Error, resp.StatusCode)
	}
	if len(c.Choices) == 0 {
		return nil, p.malformed(resp.StatusCode, "response has no choices", nil)
	}
	ch := &c.Choices[0]
	return &providers.Response{
		ID:           c.ID,
		Model:        c.Model,
		Text:         ch.Message.Content,
		FinishReason: finishReason(ch.FinishReason),
		Usage:        toUsage(c.Usage),
	}, nil
}

// finishReason normalises OpenAI's finish_reason.
func finishReason(s string) providers.FinishReason {
	switch s {
	case wire.FinishStop:
		return providers.FinishStop
	case wire.FinishLength:
		return providers.FinishLength
	case wire.FinishContentFilter:
		return providers.FinishContentFilter
	case wire.FinishToolCalls, wire.FinishFunctionCall:
		return providers.FinishToolCalls
	}
	return providers.FinishUnknown
}
