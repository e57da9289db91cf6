// Package providers defines the seam between the gateway and the large
// language model backends it calls.
//
// A backend (OpenAI, Anthropic, the simulator, any OpenAI-compatible host)
// lives in its own sub-package, translates the provider-neutral [Request] into
// its wire format, speaks real HTTP and maps the answer back into a
// [Response] or a [Stream]. Backends register a [Factory] by kind from their
// init function (see [Register]); the gateway builds them from
// provider_settings.json through [New] and never switches on a kind.
//
// Providers know nothing of gRPC, routing or caching: they return typed
// [*Error] values so that the resilience layer can tell retryable failures
// from permanent ones and the server can map each to one gRPC status.
package providers

import (
	"context"
)

// Provider is one configured backend: a named account at an LLM vendor (or a
// compatible host) that can answer chat completions.
//
// Implementations must be safe for concurrent use by many goroutines.
type Provider interface {
	// Name is the operator-chosen name of this provider instance (the key in
	// provider_settings.json), used in metrics, logs and responses.
	Name() string
	// Complete sends req and waits for the whole answer.
	Complete(ctx context.Context, req *Request) (*Response, error)
	// Stream sends req and returns the answer incrementally. A nil error
	// means the upstream accepted the request and began an event stream;
	// failures after that are reported by [Stream.Recv]. The caller must
	// Close the stream.
	Stream(ctx context.Context, req *Request) (Stream, error)
}

// Role is the author of a chat message.
type Role string

// The roles every backend understands.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	// RoleTool carries tool results, for vendors that take them in a
	// message of their own; backends whose vendor takes them in a user
	// message move them there.
	RoleTool Role = "tool"
)

// Message is one turn of a conversation. Content is plain text; Parts,
// when set, are the content instead (a message has one or the other).
type Message struct {
	Role    Role
	Content string
	// Parts are the content in order: text, images, tool calls and
	// results, thinking. Nil for a plain-text message.
	Parts []Part
	// CachePoint, when set, marks the end of the message as a prompt-cache
	// breakpoint.
	CachePoint *CachePoint
}

// Request is a provider-neutral chat completion request. Zero values mean
// "not set": a backend leaves them out of the wire request so the vendor's
// own default applies (except where a vendor requires a value, such as
// Anthropic's max_tokens, which the backend documents).
type Request struct {
	// Model is the vendor's model name, e.g. "gpt-4o-mini".
	Model string
	// Messages in conversation order. System messages may appear anywhere;
	// backends whose API takes the system prompt separately hoist them.
	Messages []Message
	// MaxTokens caps the answer length in tokens; 0 means the backend default.
	MaxTokens int
	// Temperature, when non-nil, is the sampling temperature.
	Temperature *float64
	// TopP, when non-nil, is the nucleus sampling mass.
	TopP *float64
	// Stop sequences end generation when produced.
	Stop []string
	// Seed, when non-nil, asks for deterministic sampling where supported.
	Seed *int64
	// User is an opaque end-user identifier forwarded to vendors that accept
	// one for abuse monitoring. It must not be a personal identifier.
	User string
	// Tools are the functions the model may call; see rich.go.
	Tools []Tool
	// ToolChoice says whether and which tools the model must call; the zero
	// value leaves it to the vendor.
	ToolChoice ToolChoice
	// ParallelToolCalls, when non-nil, allows or forbids several tool
	// calls in one answer.
	ParallelToolCalls *bool
	// ResponseFormat is the form of the answer; the zero value is text.
	ResponseFormat ResponseFormat
	// Reasoning tunes reasoning models; the zero value leaves it to the
	// vendor.
	Reasoning Reasoning
}

// FinishReason says why generation stopped, normalised across vendors.
type FinishReason string

// Normalised finish reasons.
const (
	FinishUnknown       FinishReason = ""
	FinishStop          FinishReason = "stop"           // natural end or a stop sequence
	FinishLength        FinishReason = "length"         // max_tokens reached
	FinishContentFilter FinishReason = "content_filter" // vendor refused or filtered
	FinishToolCalls     FinishReason = "tool_calls"     // the model asked for a tool
)

// Usage counts the tokens of one answer, normalised to one meaning for every
// vendor: InputTokens is the whole prompt, including the parts served from
// or written to the vendor's prompt cache; CachedInputTokens and
// CacheCreationInputTokens are subsets of it, never added on top.
type Usage struct {
	// InputTokens is every prompt token, cached or not.
	InputTokens int64
	// OutputTokens is every generated token.
	OutputTokens int64
	// CachedInputTokens is the part of InputTokens read from the vendor's
	// prompt cache (billed at the cached-input price).
	CachedInputTokens int64
	// CacheCreationInputTokens is the part of InputTokens written to the
	// vendor's prompt cache (Anthropic bills these at a premium).
	CacheCreationInputTokens int64
	// ReasoningTokens is the part of OutputTokens the model spent thinking
	// (billed as output).
	ReasoningTokens int64
}

// Total is input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Response is a complete answer.
type Response struct {
	// ID is the vendor's response id, when it sends one.
	ID string
	// Model is the model that answered, as the vendor reports it.
	Model string
	// Text is the answer: all of its text parts, concatenated.
	Text string
	// Parts, when non-nil, are the answer in order (text, tool calls,
	// thinking) when it is more than text; nil for a text-only answer,
	// which Text holds whole. A pointer, so that a Response stays
	// comparable with ==; see [Response.PartList].
	Parts *[]Part
	// FinishReason says why generation stopped.
	FinishReason FinishReason
	// Usage counts the tokens.
	Usage Usage
}

// PartList is the answer's parts, nil for a text-only answer.
func (r *Response) PartList() []Part {
	if r.Parts == nil {
		return nil
	}
	return *r.Parts
}

// Chunk is one step of a [Stream].
type Chunk struct {
	// Delta is the next piece of answer text; it may be empty on chunks that
	// only carry metadata.
	Delta string
	// ToolCall, when non-nil, is the next piece of a tool call.
	ToolCall *ToolCallDelta
	// Thinking, when non-nil, is the next piece of the model's reasoning.
	Thinking *ThinkingDelta
	// Done is true on the last chunk of a complete stream, which carries the
	// finish reason, the usage and the response id and model.
	Done bool
	// FinishReason is set on the last chunk.
	FinishReason FinishReason
	// Usage is set on the last chunk.
	Usage Usage
	// ID and Model identify the response; set on the last chunk.
	ID, Model string
}

// Stream is an answer arriving incrementally.
//
// Recv returns chunks in order. After the chunk with Done set it returns
// io.EOF. An upstream that ends the stream without its terminal event yields
// an [*Error] of kind [KindTruncated], never io.EOF. Recv is not safe for
// concurrent use; Close may be called at any time, also concurrently with
// Recv, and releases the connection.
type Stream interface {
	Recv() (Chunk, error)
	Close() error
}
