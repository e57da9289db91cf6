package openai

import (
	"encoding/json"
	"strconv"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The object values of the response bodies.
const (
	ObjectCompletion = "chat.completion"
	ObjectChunk      = "chat.completion.chunk"
)

// The finish_reason values.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
	FinishToolCalls     = "tool_calls"
	FinishFunctionCall  = "function_call"
)

// ChatCompletion is a unary response body.
type ChatCompletion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	ServiceTier       string   `json:"service_tier,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	// PromptFilterResults is Azure OpenAI's content-filter report.
	PromptFilterResults json.RawMessage `json:"prompt_filter_results,omitempty"`
	// Error is set by compatible hosts that answer 2xx with an error
	// object; see [ParseError].
	Error json.RawMessage `json:"error,omitempty"`
}

// Choice is one answer of a [ChatCompletion].
type Choice struct {
	Index        int             `json:"index"`
	Message      AnswerMessage   `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
	FinishReason string          `json:"finish_reason"`
	// ContentFilterResults is Azure OpenAI's content-filter report.
	ContentFilterResults json.RawMessage `json:"content_filter_results,omitempty"`
}

// AnswerMessage is the assistant's message in a [Choice].
type AnswerMessage struct {
	Role        string          `json:"role"`
	Content     string          `json:"content"`
	Refusal     *string         `json:"refusal"`
	Annotations json.RawMessage `json:"annotations,omitempty"`
	ToolCalls   json.RawMessage `json:"tool_calls,omitempty"`
}

// Usage counts the tokens of an answer. PromptTokens already includes the
// cached tokens.
type Usage struct {
	PromptTokens            int64                    `json:"prompt_tokens"`
	CompletionTokens        int64                    `json:"completion_tokens"`
	TotalTokens             int64                    `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks the prompt tokens down.
type PromptTokensDetails struct {
	// CachedTokens were read from the prompt cache.
	CachedTokens int64 `json:"cached_tokens"`
	AudioTokens  int64 `json:"audio_tokens"`
}

// CompletionTokensDetails breaks the completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens          int64 `json:"reasoning_tokens"`
	AudioTokens              int64 `json:"audio_tokens"`
	AcceptedPredictionTokens int64 `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int64 `json:"rejected_prediction_tokens"`
}

// CachedTokens is the prompt tokens read from the cache, 0 when the
// details are absent.
func (u *Usage) CachedTokens() int64 {
	if u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CachedTokens
}

// AppendJSON appends u as encoding/json writes it.
func (u *Usage) AppendJSON(b []byte) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	if d := u.PromptTokensDetails; d != nil {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, d.CachedTokens, 10)
		b = append(b, `,"audio_tokens":`...)
		b = strconv.AppendInt(b, d.AudioTokens, 10)
		b = append(b, '}')
	}
	if d := u.CompletionTokensDetails; d != nil {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, d.ReasoningTokens, 10)
		b = append(b, `,"audio_tokens":`...)
		b = strconv.AppendInt(b, d.AudioTokens, 10)
		b = append(b, `,"accepted_prediction_tokens":`...)
		b = strconv.AppendInt(b, d.AcceptedPredictionTokens, 10)
		b = append(b, `,"rejected_prediction_tokens":`...)
		b = strconv.AppendInt(b, d.RejectedPredictionTokens, 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// Meta is what every response object of one answer repeats: its id,
// creation time, model and the serving details OpenAI adds.
type Meta struct {
	ID      string
	Created int64
	Model   string
	// ServiceTier and SystemFingerprint are left out when empty.
	ServiceTier       string
	SystemFingerprint string
}

// AppendCompletionHead appends a one-choice chat.completion object up to
// and including `"content":`; the caller appends the answer as a JSON
// string and then [AppendCompletionTail].
func AppendCompletionHead(b []byte, m *Meta) []byte {
	b = append(b, `{"id":`...)
	b = wirejson.AppendString(b, m.ID)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, m.Created, 10)
	b = append(b, `,"model":`...)
	b = wirejson.AppendString(b, m.Model)
	return append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
}

// AppendCompletionTail closes what [AppendCompletionHead] opened, with the
// finish reason and the usage.
func AppendCompletionTail(b []byte, m *Meta, finishReason string, u *Usage) []byte {
	b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":`...)
	b = wirejson.AppendString(b, finishReason)
	b = append(b, `}],"usage":`...)
	b = u.AppendJSON(b)
	b = appendServing(b, m)
	return append(b, '}')
}

// appendServing appends the service tier and fingerprint when set.
func appendServing(b []byte, m *Meta) []byte {
	if m.ServiceTier != "" {
		b = append(b, `,"service_tier":`...)
		b = wirejson.AppendString(b, m.ServiceTier)
	}
	if m.SystemFingerprint != "" {
		b = append(b, `,"system_fingerprint":`...)
		b = wirejson.AppendString(b, m.SystemFingerprint)
	}
	return b
}
