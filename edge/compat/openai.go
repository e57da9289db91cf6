package compat

import (
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The OpenAI Chat Completions wire format, written by hand as the real API
// writes it (see providers/openai/testdata): a chat.completion object for
// a unary answer, chat.completion.chunk events ended by "data: [DONE]" for
// a stream.

// openAIFinishReason is the finish_reason of reason; the gateway always
// reports one, "stop" when the provider did not say.
func openAIFinishReason(r gatewayv1.FinishReason) string {
	switch r {
	case gatewayv1.FinishReason_FINISH_REASON_LENGTH:
		return openaiwire.FinishLength
	case gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER:
		return openaiwire.FinishContentFilter
	case gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS:
		return openaiwire.FinishToolCalls
	}
	return openaiwire.FinishStop
}

// answeredModel is the model that answered, or the requested name when no
// model did (a degraded answer).
func answeredModel(model, requested string) string {
	if model != "" {
		return model
	}
	return requested
}

// openAIUsage is the gateway's usage as OpenAI's. prompt_tokens includes
// cached tokens, as in OpenAI's API and the gateway's own usage.
func openAIUsage(u *gatewayv1.Usage) openaiwire.Usage {
	in, out := int64(u.GetInputTokens()), int64(u.GetOutputTokens())
	ou := openaiwire.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out,
		PromptTokensDetails: &openaiwire.PromptTokensDetails{CachedTokens: int64(u.GetCachedInputTokens())}}
	if r := u.GetReasoningTokens(); r > 0 {
		ou.CompletionTokensDetails = &openaiwire.CompletionTokensDetails{ReasoningTokens: int64(r)}
	}
	return ou
}

// appendChatCompletion appends the chat.completion object of a unary
// answer. Its id is the gateway's response id (the one feedback takes).
func appendChatCompletion(b []byte, r *gatewayv1.CompleteResponse, requested string, created int64) []byte {
	m := openaiwire.Meta{ID: r.GetId(), Created: created, Model: answeredModel(r.GetModel(), requested)}
	b = openaiwire.AppendCompletionHead(b, &m)
	if r.GetText() == "" && hasToolCalls(r.GetParts()) {
		b = append(b, "null"...)
	} else {
		b = wirejson.AppendString(b, r.GetText())
	}
	b = appendToolCalls(b, r.GetParts())
	u := openAIUsage(r.GetUsage())
	return openaiwire.AppendCompletionTail(b, &m, openAIFinishReason(r.GetFinishReason()), &u)
}

// chatChunks writes a stream's chat.completion.chunk events.
type chatChunks struct {
	id           string
	model        string
	created      int64
	includeUsage bool
	// calls numbers the answer's tool calls by their upstream index.
	calls map[int32]int
}

func newChatChunks(opts streamOptions) *chatChunks {
	return &chatChunks{id: newID("chatcmpl-"), model: opts.model, created: opts.created, includeUsage: opts.includeUsage}
}

// head appends an event's opening up to and including "choices":.
func (c *chatChunks) head(b []byte, model string) []byte {
	m := openaiwire.Meta{ID: c.id, Created: c.created, Model: model}
	return openaiwire.AppendChunkHead(b, &m)
}

// start implements events: the assistant role with empty content.
func (c *chatChunks) start(b []byte) []byte {
	b = c.head(b, c.model)
	b = append(b, openaiwire.ChoicesStart...)
	return openaiwire.AppendChunkTail(b, c.includeUsage, nil)
}

// message implements events: the text, then the tool-call piece.
// Reasoning has no place in a Chat Completions stream.
func (c *chatChunks) message(b []byte, m *gatewayv1.StreamResponse) []byte {
	if m.GetDelta() != "" {
		b = c.delta(b, m.GetDelta())
	}
	if tc := m.GetToolCall(); tc != nil {
		b = c.toolCallDelta(b, tc)
	}
	return b
}

// delta is the next piece of text.
func (c *chatChunks) delta(b []byte, text string) []byte {
	b = c.head(b, c.model)
	b = append(b, openaiwire.ChoicesDeltaOpen...)
	b = wirejson.AppendStringBody(b, text)
	b = append(b, openaiwire.ChoicesDeltaClose...)
	return openaiwire.AppendChunkTail(b, c.includeUsage, nil)
}

// finish implements events: the finish_reason chunk, the usage chunk
// (empty choices) when asked for, and [DONE]. They name the model that
// really answered.
func (c *chatChunks) finish(b []byte, m *gatewayv1.StreamResponse) []byte {
	model := answeredModel(m.GetModel(), c.model)
	b = c.head(b, model)
	b = openaiwire.AppendFinishChoices(b, openAIFinishReason(m.GetFinishReason()))
	b = openaiwire.AppendChunkTail(b, c.includeUsage, nil)
	if c.includeUsage {
		b = c.head(b, model)
		b = append(b, openaiwire.ChoicesNone...)
		u := openAIUsage(m.GetUsage())
		b = openaiwire.AppendChunkTail(b, true, &u)
	}
	return append(b, openaiwire.DoneEvent...)
}

// fail implements events: an error event, which the SDKs raise as an
// APIError; no [DONE] follows.
func (c *chatChunks) fail(b []byte, e *apiError) []byte {
	b = append(b, "data: "...)
	b = appendOpenAIError(b, e)
	return append(b, "\n\n"...)
}

var _ events = (*chatChunks)(nil)
