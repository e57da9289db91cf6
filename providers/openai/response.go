package openai

import (
	"net/http"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// toUsage normalises OpenAI's usage: prompt_tokens already includes the
// cached tokens.
func toUsage(u *wire.Usage) providers.Usage {
	if u == nil {
		return providers.Usage{}
	}
	out := providers.Usage{
		InputTokens:       u.PromptTokens,
		OutputTokens:      u.CompletionTokens,
		CachedInputTokens: u.CachedTokens(),
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// parseCompletion maps a 2xx chat.completion body to a Response.
func (p *Provider) parseCompletion(body []byte, resp *http.Response) (*providers.Response, error) {
	var c wire.ChatCompletion
	if err := wirejson.Unmarshal(body, &c); err != nil {
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
	out := &providers.Response{
		ID:           c.ID,
		Model:        c.Model,
		Text:         ch.Message.Content,
		FinishReason: finishReason(ch.FinishReason),
		Usage:        toUsage(c.Usage),
	}
	parts, err := answerParts(ch.Message.Content, ch.Message.ToolCalls)
	if err != nil {
		return nil, p.malformed(resp.StatusCode, "response has malformed tool_calls", body)
	}
	if parts != nil {
		out.Parts = &parts
	}
	return out, nil
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
