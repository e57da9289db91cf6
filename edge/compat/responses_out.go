package compat

import (
	"net/http"
	"strings"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The Responses API's answers: a response object for a unary answer;
// for a stream, typed events numbered by sequence_number, from
// response.created to response.completed (or .incomplete, or error and
// response.failed), each output item opened, filled by its deltas and
// closed in turn.

// responseTemplate is the response object before the answer: the
// request's settings, echoed as the API echoes them.
func responseTemplate(in *openaiwire.ResponseRequest) *openaiwire.Response {
	r := &openaiwire.Response{
		Object: openaiwire.ObjectResponse, Status: openaiwire.StatusInProgress,
		MaxOutputTokens: in.MaxOutputTokens, Model: in.Model, ParallelToolCalls: true,
		Temperature: in.Temperature, TopP: in.TopP, Truncation: "disabled",
		Text:       openaiwire.TextEcho{Format: openaiwire.TextFormat{Type: openaiwire.FormatText}},
		ToolChoice: openaiwire.ResponseToolChoice{Mode: openaiwire.ToolChoiceAuto},
		Tools:      []openaiwire.ResponseTool(in.Tools), Metadata: in.Metadata,
	}
	if in.Instructions != "" {
		s := in.Instructions
		r.Instructions = &s
	}
	if in.ParallelToolCalls != nil {
		r.ParallelToolCalls = *in.ParallelToolCalls
	}
	if in.Text != nil && in.Text.Format != nil {
		r.Text.Format = *in.Text.Format
	}
	if in.ToolChoice != nil {
		r.ToolChoice = *in.ToolChoice
	}
	if in.Reasoning != nil && in.Reasoning.Effort != "" {
		e := in.Reasoning.Effort
		r.Reasoning.Effort = &e
	}
	if r.Tools == nil {
		r.Tools = []openaiwire.ResponseTool{}
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	return r
}

// responseUsage is the gateway's usage as the Responses API's.
func responseUsage(u *gatewayv1.Usage) *openaiwire.ResponseUsage {
	in, out := int64(u.GetInputTokens()), int64(u.GetOutputTokens())
	return &openaiwire.ResponseUsage{InputTokens: in, OutputTokens: out, TotalTokens: in + out,
		InputTokensDetails:  openaiwire.InputTokensDetails{CachedTokens: int64(u.GetCachedInputTokens())},
		OutputTokensDetails: openaiwire.OutputTokensDetails{ReasoningTokens: int64(u.GetReasoningTokens())}}
}

// finishResponse sets a response's status from why generation stopped: a
// length or content-filter stop is incomplete, with its reason.
func finishResponse(r *openaiwire.Response, reason gatewayv1.FinishReason, u *gatewayv1.Usage) {
	r.Status, r.IncompleteDetails = openaiwire.StatusCompleted, nil
	switch reason {
	case gatewayv1.FinishReason_FINISH_REASON_LENGTH:
		r.Status, r.IncompleteDetails = openaiwire.StatusIncomplete, &openaiwire.IncompleteDetails{Reason: openaiwire.IncompleteMaxOutputTokens}
	case gatewayv1.FinishReason_FINISH_REASON_CONTENT_FILTER:
		r.Status, r.IncompleteDetails = openaiwire.StatusIncomplete, &openaiwire.IncompleteDetails{Reason: openaiwire.IncompleteContentFilter}
	}
	r.Usage = responseUsage(u)
}

// responseID is the response id of the gateway's answer id.
func responseID(id string) string {
	if strings.HasPrefix(id, "resp_") {
		return id
	}
	return "resp_" + id
}

// outputItems are an answer's output: its text as one message, its tool
// calls as function_call items, in the order of its parts (thinking has
// no item: the gateway returns no reasoning items). An answer with
// neither is one empty message. Items are complete but the last, which
// takes status (incomplete when the answer was cut short).
func outputItems(text string, parts []*gatewayv1.Part, status string) []openaiwire.OutputItem {
	var items []openaiwire.OutputItem
	var msg *openaiwire.OutputItem
	addText := func(s string) {
		if msg == nil {
			items = append(items, openaiwire.OutputItem{ID: newID("msg_"), Type: openaiwire.ItemMessage,
				Status: openaiwire.StatusCompleted, Content: []openaiwire.OutputText{{}}})
			msg = &items[len(items)-1]
		}
		msg.Content[0].Text += s
	}
	if len(parts) == 0 {
		addText(text)
	}
	for _, p := range parts {
		switch k := p.GetKind().(type) {
		case *gatewayv1.Part_Text:
			addText(k.Text)
		case *gatewayv1.Part_ToolCall:
			msg = nil
			items = append(items, openaiwire.OutputItem{ID: newID("fc_"), Type: openaiwire.ItemFunctionCall,
				Status: openaiwire.StatusCompleted, CallID: k.ToolCall.GetId(), Name: k.ToolCall.GetName(),
				Arguments: k.ToolCall.GetArguments()})
		}
	}
	if len(items) == 0 {
		addText("")
	}
	items[len(items)-1].Status = status
	return items
}

// appendResponse appends the response object of a unary answer. Its id
// is the gateway's response id with the API's prefix.
func appendResponse(b []byte, r *gatewayv1.CompleteResponse, opts streamOptions) []byte {
	out := *opts.response
	out.ID, out.CreatedAt = responseID(r.GetId()), opts.created
	out.Model = answeredModel(r.GetModel(), opts.model)
	finishResponse(&out, r.GetFinishReason(), r.GetUsage())
	out.Output = outputItems(r.GetText(), r.GetParts(), out.Status)
	b, err := wirejson.Marshal(b, &out)
	if err != nil { // strings, numbers and valid raw JSON always encode
		return append(b, "{}"...)
	}
	return b
}

// responseEvents writes a stream's events. It keeps the output so far,
// for the done events and the final response.
type responseEvents struct {
	resp *openaiwire.Response
	seq  int64
	// open is the index in resp.Output of the open item, -1 for none.
	open int
	// pending is the open item's text or arguments so far, kept apart
	// until it closes, so that a delta does not copy the whole.
	pending []byte
	// calls maps the gateway's tool-call index to its item's index.
	calls map[int32]int
}

func newResponseEvents(opts streamOptions) *responseEvents {
	r := *opts.response
	r.ID, r.CreatedAt, r.Output = newID("resp_"), opts.created, []openaiwire.OutputItem{}
	return &responseEvents{resp: &r, open: -1}
}

// next is the next sequence number.
func (e *responseEvents) next() int64 {
	s := e.seq
	e.seq++
	return s
}

// start implements events: response.created and response.in_progress.
func (e *responseEvents) start(b []byte) []byte {
	b = openaiwire.AppendResponseEvent(b, openaiwire.EventResponseCreated, e.next(), e.resp)
	return openaiwire.AppendResponseEvent(b, openaiwire.EventResponseInProgress, e.next(), e.resp)
}

// message implements events: text deltas fill a message item, tool-call
// deltas function_call items, each opened as it starts. Thinking has no
// event: the gateway returns no reasoning items.
func (e *responseEvents) message(b []byte, m *gatewayv1.StreamResponse) []byte {
	if d := m.GetDelta(); d != "" {
		b = e.text(b, d)
	}
	if tc := m.GetToolCall(); tc != nil {
		b = e.toolCall(b, tc)
	}
	return b
}

// text appends a text delta, opening a message item first when the open
// item is not one.
func (e *responseEvents) text(b []byte, d string) []byte {
	if e.open < 0 || e.resp.Output[e.open].Type != openaiwire.ItemMessage {
		b = e.openMessage(b)
	}
	e.pending = append(e.pending, d...)
	return openaiwire.AppendTextDelta(b, e.next(), e.resp.Output[e.open].ID, e.open, d)
}

// openMessage opens a message item: empty, then its output_text part
// added, as the API does.
func (e *responseEvents) openMessage(b []byte) []byte {
	b = e.openItem(b, openaiwire.OutputItem{ID: newID("msg_"), Type: openaiwire.ItemMessage,
		Status: openaiwire.StatusInProgress})
	it := &e.resp.Output[e.open]
	it.Content = []openaiwire.OutputText{{}}
	return openaiwire.AppendPartEvent(b, openaiwire.EventContentPartAdded, e.next(), it.ID, e.open, &openaiwire.OutputText{})
}

// toolCall appends a tool-call delta: a new call opens a function_call
// item; an arguments fragment is its delta.
func (e *responseEvents) toolCall(b []byte, tc *gatewayv1.ToolCallDelta) []byte {
	idx, seen := e.calls[tc.GetIndex()]
	if !seen {
		if e.calls == nil {
			e.calls = map[int32]int{}
		}
		b = e.openItem(b, openaiwire.OutputItem{ID: newID("fc_"), Type: openaiwire.ItemFunctionCall,
			Status: openaiwire.StatusInProgress, CallID: tc.GetId(), Name: tc.GetName()})
		idx = e.open
		e.calls[tc.GetIndex()] = idx
	}
	if a := tc.GetArguments(); a != "" {
		it := &e.resp.Output[idx]
		if idx == e.open {
			e.pending = append(e.pending, a...)
		} else { // a late fragment of a call already closed
			it.Arguments += a
		}
		b = openaiwire.AppendArgumentsDelta(b, e.next(), it.ID, idx, a)
	}
	return b
}

// openItem opens it, closing the open item first.
func (e *responseEvents) openItem(b []byte, it openaiwire.OutputItem) []byte {
	b = e.closeItem(b, openaiwire.StatusCompleted)
	e.pending = e.pending[:0]
	e.resp.Output = append(e.resp.Output, it)
	e.open = len(e.resp.Output) - 1
	return openaiwire.AppendItemEvent(b, openaiwire.EventOutputItemAdded, e.next(), e.open, &e.resp.Output[e.open])
}

// closeItem closes the open item, if any, with its done events and
// status: completed, or incomplete for the last item of an answer cut
// short.
func (e *responseEvents) closeItem(b []byte, status string) []byte {
	if e.open < 0 {
		return b
	}
	i := e.flush()
	it := &e.resp.Output[i]
	it.Status = status
	if it.Type == openaiwire.ItemMessage {
		b = openaiwire.AppendTextDone(b, e.next(), it.ID, i, it.Content[0].Text)
		b = openaiwire.AppendPartEvent(b, openaiwire.EventContentPartDone, e.next(), it.ID, i, &it.Content[0])
	} else {
		b = openaiwire.AppendArgumentsDone(b, e.next(), it.ID, i, it.Name, it.Arguments)
	}
	return openaiwire.AppendItemEvent(b, openaiwire.EventOutputItemDone, e.next(), i, it)
}

// flush puts the pending text or arguments into the open item and
// returns its index; no item is open after it.
func (e *responseEvents) flush() int {
	i := e.open
	e.open = -1
	it := &e.resp.Output[i]
	if it.Type == openaiwire.ItemMessage {
		it.Content[0].Text = string(e.pending)
	} else {
		it.Arguments = string(e.pending)
	}
	return i
}

// finish implements events: the open item's end (an empty message for an
// empty answer), then response.completed, or response.incomplete for an
// answer cut short, with the usage.
func (e *responseEvents) finish(b []byte, m *gatewayv1.StreamResponse) []byte {
	e.resp.Model = answeredModel(m.GetModel(), e.resp.Model)
	finishResponse(e.resp, m.GetFinishReason(), m.GetUsage())
	if len(e.resp.Output) == 0 {
		b = e.openMessage(b)
	}
	b = e.closeItem(b, e.resp.Status)
	typ := openaiwire.EventResponseCompleted
	if e.resp.Status == openaiwire.StatusIncomplete {
		typ = openaiwire.EventResponseIncomplete
	}
	return openaiwire.AppendResponseEvent(b, typ, e.next(), e.resp)
}

// fail implements events: an error event, which the SDK's stream helper
// raises, then response.failed with the output so far, the open item
// left incomplete.
func (e *responseEvents) fail(b []byte, ae *apiError) []byte {
	obj := ae.openAIError()
	if obj.Code == "" {
		obj.Code = obj.Type
	}
	b = openaiwire.AppendErrorEvent(b, e.next(), obj)
	if e.open >= 0 {
		e.resp.Output[e.flush()].Status = openaiwire.StatusIncomplete
	}
	e.resp.Status = openaiwire.StatusFailed
	e.resp.Error = &openaiwire.ResponseError{Code: responseErrorCode(ae.status), Message: ae.message}
	return openaiwire.AppendResponseEvent(b, openaiwire.EventResponseFailed, e.next(), e.resp)
}

// responseErrorCode is the response error code of an HTTP status: the API
// knows only a few.
func responseErrorCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return openaiwire.CodeRateLimitExceeded
	case http.StatusBadRequest:
		return "invalid_prompt"
	}
	return openaiwire.TypeServer
}

var _ events = (*responseEvents)(nil)
