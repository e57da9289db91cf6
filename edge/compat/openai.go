package compat

import (
	"strconv"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/wirejson"
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
		return "length"
	case gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER:
		return "content_filter"
	case gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS:
		return "tool_calls"
	}
	return "stop"
}

// answeredModel is the model that answered, or the requested name when no
// model did (a degraded answer).
func answeredModel(model, requested string) string {
	if model != "" {
		return model
	}
	return requested
}

// appendOpenAIUsage appends a usage object. prompt_tokens includes cached
// tokens, as in OpenAI's API and the gateway's own usage.
func appendOpenAIUsage(b []byte, u *gatewayv1.Usage) []byte {
	in, out := int64(u.GetInputTokens()), int64(u.GetOutputTokens())
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, in, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, out, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, in+out, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(u.GetCachedInputTokens()), 10)
	return append(b, "}}"...)
}

// appendChatCompletion appends the chat.completion object of a unary
// answer. Its id is the gateway's response id (the one feedback takes).
func appendChatCompletion(b []byte, r *gatewayv1.CompleteResponse, requested string, created int64) []byte {
	b = append(b, `{"id":`...)
	b = wirejson.AppendString(b, r.GetId())
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = wirejson.AppendString(b, answeredModel(r.GetModel(), requested))
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = wirejson.AppendString(b, r.GetText())
	b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"`...)
	b = append(b, openAIFinishReason(r.GetFinishReason())...)
	b = append(b, `"}],"usage":`...)
	b = appendOpenAIUsage(b, r.GetUsage())
	return append(b, '}')
}

// chatChunks writes a stream's chat.completion.chunk events.
type chatChunks struct {
	id           string
	model        string
	created      int64
	includeUsage bool
}

func newChatChunks(opts streamOptions) *chatChunks {
	return &chatChunks{id: newID("chatcmpl-"), model: opts.model, created: opts.created, includeUsage: opts.includeUsage}
}

// head appends an event's opening up to and including "choices":.
func (c *chatChunks) head(b []byte, model string) []byte {
	b = append(b, `data: {"id":"`...)
	b = append(b, c.id...) // hex, nothing to escape
	b = append(b, `","object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = wirejson.AppendString(b, model)
	return append(b, `,"choices":`...)
}

// tail closes an event: usage null on every chunk but the last when usage
// was asked for, as OpenAI does.
func (c *chatChunks) tail(b []byte) []byte {
	if c.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	return append(b, "}\n\n"...)
}

// start implements events: the assistant role with empty content.
func (c *chatChunks) start(b []byte) []byte {
	b = c.head(b, c.model)
	b = append(b, `[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]`...)
	return c.tail(b)
}

// delta implements events.
func (c *chatChunks) delta(b []byte, text string) []byte {
	b = c.head(b, c.model)
	b = append(b, `[{"index":0,"delta":{"content":`...)
	b = wirejson.AppendString(b, text)
	b = append(b, `},"logprobs":null,"finish_reason":null}]`...)
	return c.tail(b)
}

// finish implements events: the finish_reason chunk, the usage chunk
// (empty choices) when asked for, and [DONE]. They name the model that
// really answered.
func (c *chatChunks) finish(b []byte, m *gatewayv1.StreamResponse) []byte {
	model := answeredModel(m.GetModel(), c.model)
	b = c.head(b, model)
	b = append(b, `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"`...)
	b = append(b, openAIFinishReason(m.GetFinishReason())...)
	b = append(b, `"}]`...)
	b = c.tail(b)
	if c.includeUsage {
		b = c.head(b, model)
		b = append(b, `[],"usage":`...)
		b = appendOpenAIUsage(b, m.GetUsage())
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

// fail implements events: an error event, which the SDKs raise as an
// APIError; no [DONE] follows.
func (c *chatChunks) fail(b []byte, e *apiError) []byte {
	b = append(b, "data: "...)
	b = appendOpenAIError(b, e)
	return append(b, "\n\n"...)
}
