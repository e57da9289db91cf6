package openai

import (
	"encoding/json"
	"net/http"

	"github.com/careerpath/llmgateway/providers"
)

// completion is the part of a chat.completion object the gateway reads.
type completion struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
	// Error is set by hosts that answer 2xx with an error object.
	Error json.RawMessage `json:"error"`
}

// usage is OpenAI's usage object. prompt_tokens already includes the
// cached tokens.
type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *usage) toUsage() providers.Usage {
	return providers.Usage{
		InputTokens:       u.PromptTokens,
		OutputTokens:      u.CompletionTokens,
		CachedInputTokens: u.PromptTokensDetails.CachedTokens,
	}
}

// parseCompletion maps a 2xx chat.completion body to a Response.
func (p *Provider) parseCompletion(body []byte, resp *http.Response) (*providers.Response, error) {
	var c completion
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
		Usage:        c.Usage.toUsage(),
	}, nil
}

// finishReason normalises OpenAI's finish_reason.
func finishReason(s string) providers.FinishReason {
	switch s {
	case "stop":
		return providers.FinishStop
	case "length":
		return providers.FinishLength
	case "content_filter":
		return providers.FinishContentFilter
	case "tool_calls", "function_call":
		return providers.FinishToolCalls
	}
	return providers.FinishUnknown
}
