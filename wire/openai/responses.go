package openai

import (
	"encoding/json"
	"strconv"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// ObjectResponse is the object value of a Responses API response.
const ObjectResponse = "response"

// The statuses of a response and of its output items.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

// The reasons of an incomplete response.
const (
	IncompleteMaxOutputTokens = "max_output_tokens"
	IncompleteContentFilter   = "content_filter"
)

// Response is a Responses API response object, the unary answer and the
// snapshot that the lifecycle events of a stream carry. The request's
// settings are echoed as the API echoes them.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int64             `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []OutputItem       `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          ReasoningEcho      `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               TextEcho           `json:"text"`
	// ToolChoice is the request's, "auto" when it gave none.
	ToolChoice ResponseToolChoice `json:"tool_choice"`
	Tools      []ResponseTool     `json:"tools"`
	TopP       *float64           `json:"top_p"`
	Truncation string             `json:"truncation"`
	// Usage is null until the response is complete.
	Usage    *ResponseUsage    `json:"usage"`
	Metadata map[string]string `json:"metadata"`
}

// ReasoningEcho is the reasoning settings a response reports.
type ReasoningEcho struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

// TextEcho is the text settings a response reports.
type TextEcho struct {
	Format TextFormat `json:"format"`
}

// ResponseError is why a response failed. Code is one of the API's
// response error codes ("server_error", "rate_limit_exceeded",
// "invalid_prompt" …).
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponseUsage counts a response's tokens. InputTokens includes the
// cached ones and OutputTokens the reasoning ones.
type ResponseUsage struct {
	InputTokens         int64               `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int64               `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int64               `json:"total_tokens"`
}

// InputTokensDetails breaks the input tokens down.
type InputTokensDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
}

// OutputTokensDetails breaks the output tokens down.
type OutputTokensDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// OutputItem is one item of a response's output: an assistant message
// (Type [ItemMessage], with Content) or a function call (Type
// [ItemFunctionCall], with CallID, Name and Arguments).
type OutputItem struct {
	ID     string
	Type   string
	Status string
	// Content is a message's parts.
	Content []OutputText
	// CallID, Name and Arguments are a function call's.
	CallID, Name, Arguments string
}

// OutputText is an output_text part of a message.
type OutputText struct {
	Text string
}

// AppendJSON appends the part as the API writes it, with its empty
// annotations and logprobs.
func (p *OutputText) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	b = wirejson.AppendString(b, p.Text)
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler.
func (p OutputText) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// AppendJSON appends the item as the API writes it: a message's fields or
// a function call's, by Type.
func (it *OutputItem) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = wirejson.AppendString(b, it.ID)
	b = append(b, `,"type":`...)
	b = wirejson.AppendString(b, it.Type)
	b = append(b, `,"status":`...)
	b = wirejson.AppendString(b, it.Status)
	if it.Type == ItemFunctionCall {
		b = append(b, `,"call_id":`...)
		b = wirejson.AppendString(b, it.CallID)
		b = append(b, `,"name":`...)
		b = wirejson.AppendString(b, it.Name)
		b = append(b, `,"arguments":`...)
		b = wirejson.AppendString(b, it.Arguments)
		return append(b, '}')
	}
	b = append(b, `,"role":"assistant","content":[`...)
	for i := range it.Content {
		if i > 0 {
			b = append(b, ',')
		}
		b = it.Content[i].AppendJSON(b)
	}
	return append(b, "]}"...)
}

// MarshalJSON implements json.Marshaler.
func (it OutputItem) MarshalJSON() ([]byte, error) { return it.AppendJSON(nil), nil }

// The stream event types of the Responses API.
const (
	EventResponseCreated    = "response.created"
	EventResponseInProgress = "response.in_progress"
	EventResponseCompleted  = "response.completed"
	EventResponseIncomplete = "response.incomplete"
	EventResponseFailed     = "response.failed"
	EventOutputItemAdded    = "response.output_item.added"
	EventOutputItemDone     = "response.output_item.done"
	EventContentPartAdded   = "response.content_part.added"
	EventContentPartDone    = "response.content_part.done"
	EventOutputTextDelta    = "response.output_text.delta"
	EventOutputTextDone     = "response.output_text.done"
	EventArgumentsDelta     = "response.function_call_arguments.delta"
	EventArgumentsDone      = "response.function_call_arguments.done"
	EventError              = "error"
)

// AppendEventHead appends an event's "event:" line and its data up to
// its sequence number; the event's own fields (each starting with a
// comma) and [AppendEventTail] follow.
func AppendEventHead(b []byte, typ string, seq int64) []byte {
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	return strconv.AppendInt(b, seq, 10)
}

// AppendEventTail closes an event.
func AppendEventTail(b []byte) []byte { return append(b, "}\n\n"...) }

// AppendResponseEvent appends a lifecycle event carrying r.
func AppendResponseEvent(b []byte, typ string, seq int64, r *Response) []byte {
	b = AppendEventHead(b, typ, seq)
	b = append(b, `,"response":`...)
	out, err := wirejson.Marshal(b, r)
	if err != nil { // strings, numbers and valid raw JSON always encode
		return AppendEventTail(append(b, "null"...))
	}
	return AppendEventTail(out)
}

// AppendItemEvent appends response.output_item.added or .done.
func AppendItemEvent(b []byte, typ string, seq int64, index int, it *OutputItem) []byte {
	b = AppendEventHead(b, typ, seq)
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"item":`...)
	b = it.AppendJSON(b)
	return AppendEventTail(b)
}

// appendItemRef appends an event's item_id and output_index.
func appendItemRef(b []byte, itemID string, index int) []byte {
	b = append(b, `,"item_id":`...)
	b = wirejson.AppendString(b, itemID)
	b = append(b, `,"output_index":`...)
	return strconv.AppendInt(b, int64(index), 10)
}

// AppendPartEvent appends response.content_part.added or .done of a
// message's first (and only) part.
func AppendPartEvent(b []byte, typ string, seq int64, itemID string, index int, p *OutputText) []byte {
	b = AppendEventHead(b, typ, seq)
	b = appendItemRef(b, itemID, index)
	b = append(b, `,"content_index":0,"part":`...)
	b = p.AppendJSON(b)
	return AppendEventTail(b)
}

// AppendTextDelta appends response.output_text.delta.
func AppendTextDelta(b []byte, seq int64, itemID string, index int, delta string) []byte {
	b = AppendEventHead(b, EventOutputTextDelta, seq)
	b = appendItemRef(b, itemID, index)
	b = append(b, `,"content_index":0,"logprobs":[],"delta":`...)
	b = wirejson.AppendString(b, delta)
	return AppendEventTail(b)
}

// AppendTextDone appends response.output_text.done with the whole text.
func AppendTextDone(b []byte, seq int64, itemID string, index int, text string) []byte {
	b = AppendEventHead(b, EventOutputTextDone, seq)
	b = appendItemRef(b, itemID, index)
	b = append(b, `,"content_index":0,"logprobs":[],"text":`...)
	b = wirejson.AppendString(b, text)
	return AppendEventTail(b)
}

// AppendArgumentsDelta appends response.function_call_arguments.delta.
func AppendArgumentsDelta(b []byte, seq int64, itemID string, index int, delta string) []byte {
	b = AppendEventHead(b, EventArgumentsDelta, seq)
	b = appendItemRef(b, itemID, index)
	b = append(b, `,"delta":`...)
	b = wirejson.AppendString(b, delta)
	return AppendEventTail(b)
}

// AppendArgumentsDone appends response.function_call_arguments.done with
// the call's name and whole arguments.
func AppendArgumentsDone(b []byte, seq int64, itemID string, index int, name, args string) []byte {
	b = AppendEventHead(b, EventArgumentsDone, seq)
	b = appendItemRef(b, itemID, index)
	b = append(b, `,"name":`...)
	b = wirejson.AppendString(b, name)
	b = append(b, `,"arguments":`...)
	b = wirejson.AppendString(b, args)
	return AppendEventTail(b)
}

// AppendErrorEvent appends the error event: the error's code (null when
// empty), message and param (null when empty).
func AppendErrorEvent(b []byte, seq int64, e *ErrorObject) []byte {
	b = AppendEventHead(b, EventError, seq)
	b = append(b, `,"code":`...)
	b = appendStringOrNull(b, e.Code)
	b = append(b, `,"message":`...)
	b = wirejson.AppendString(b, e.Message)
	b = append(b, `,"param":`...)
	b = appendStringOrNull(b, e.Param)
	return AppendEventTail(b)
}

var (
	_ json.Marshaler = OutputItem{}
	_ json.Marshaler = OutputText{}
)
