package sim

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/careerpath/llmgateway/schemacheck"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Rich answers on the OpenAI wire. They are deterministic like text ones:
//
//   - a conversation whose last message is a tool result is answered with
//     text naming the result;
//   - a request with tools and a tool_choice other than "none" calls the
//     named tool, or the first one, or (parallel_tool_calls not false, 2+
//     tools, no tool named) the first two, with arguments built from each
//     tool's parameters schema by [schemacheck.Schema.Example];
//   - a json_schema response format is answered with JSON built from the
//     schema (or, with [Config.SchemaMismatch], a JSON string), a
//     json_object one with an object holding the text answer.
//
// Streams send text in pieces of up to pieceBytes and tool calls as
// OpenAI does: the first delta of a call with its id, type and name, then
// argument fragments, one call after the other.

// pieceBytes is the largest text or argument fragment of one stream event.
const pieceBytes = 16

// openaiImageTokens is what one image part adds to the prompt tokens (OpenAI's
// cost of a low-detail image).
const openaiImageTokens = 85

// mismatchAnswer is the answer to a json_schema request under
// [Config.SchemaMismatch]: valid JSON that no object or array schema
// accepts.
const mismatchAnswer = `"this answer does not match the schema"`

// openaiRichAnswer is an answer other than generated words: a fixed text or
// tool calls, cut into the pieces a stream sends.
type openaiRichAnswer struct {
	text   string
	calls  []openaiwire.ToolCall
	pieces []richPiece
}

// richPiece is one stream event's worth: a text fragment, or a piece of
// the call at index call (the first piece of a call has first set).
type richPiece struct {
	text  string
	call  int
	first bool
}

// planOpenAIRich decides the rich answer for req, or nil for a text answer.
// Parameters and schemas that do not compile are answered as if absent:
// the real API would have refused them, which the simulator does not
// model.
func planOpenAIRich(req *openaiwire.ChatRequest, cfg *Config, words func() string) *openaiRichAnswer {
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == openaiwire.RoleTool {
		return textAnswer("The tool returned: " + req.Messages[n-1].Content.String())
	}
	if calls := plannedCalls(req); len(calls) > 0 {
		a := &openaiRichAnswer{calls: calls}
		for i, c := range calls {
			a.pieces = append(a.pieces, richPiece{call: i, first: true})
			for _, f := range cut(c.Function.Arguments) {
				a.pieces = append(a.pieces, richPiece{call: i, text: f})
			}
		}
		return a
	}
	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case openaiwire.FormatJSONSchema:
			if cfg.SchemaMismatch {
				return textAnswer(mismatchAnswer)
			}
			if f.JSONSchema != nil {
				if s, err := schemacheck.Shared.Compile(f.JSONSchema.Schema); err == nil {
					return textAnswer(string(s.Example()))
				}
			}
			return textAnswer("{}")
		case openaiwire.FormatJSONObject:
			b, _ := wirejson.Marshal(nil, map[string]string{"answer": words()})
			return textAnswer(string(b))
		}
	}
	return nil
}

func textAnswer(s string) *openaiRichAnswer {
	a := &openaiRichAnswer{text: s}
	for _, f := range cut(s) {
		a.pieces = append(a.pieces, richPiece{text: f})
	}
	if len(a.pieces) == 0 {
		a.pieces = []richPiece{{}}
	}
	return a
}

// cut splits s into pieces of up to pieceBytes, between characters.
func cut(s string) []string {
	var out []string
	for len(s) > 0 {
		n := min(pieceBytes, len(s))
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// plannedCalls are the tool calls req is answered with.
func plannedCalls(req *openaiwire.ChatRequest) []openaiwire.ToolCall {
	if !wirejson.InUse(req.Tools) {
		return nil
	}
	var tools []openaiwire.Tool
	if json.Unmarshal(req.Tools, &tools) != nil || len(tools) == 0 {
		return nil
	}
	var chosen []openaiwire.Tool
	var mode string
	var named openaiwire.NamedToolChoice
	switch {
	case !wirejson.InUse(req.ToolChoice):
	case json.Unmarshal(req.ToolChoice, &mode) == nil:
	case json.Unmarshal(req.ToolChoice, &named) == nil:
	}
	switch {
	case mode == openaiwire.ToolChoiceNone:
		return nil
	case named.Function.Name != "":
		for _, t := range tools {
			if t.Function.Name == named.Function.Name {
				chosen = append(chosen, t)
				break
			}
		}
	default:
		chosen = tools[:1]
		parallel := true
		if len(req.ParallelToolCalls) > 0 { // InUse would call false unused
			_ = json.Unmarshal(req.ParallelToolCalls, &parallel)
		}
		if parallel && len(tools) >= 2 {
			chosen = tools[:2]
		}
	}
	calls := make([]openaiwire.ToolCall, len(chosen))
	for i, t := range chosen {
		args := "{}"
		if len(t.Function.Parameters) > 0 {
			if s, err := schemacheck.Shared.Compile(t.Function.Parameters); err == nil {
				args = string(s.Example())
			}
		}
		h := fnvAdd(fnvAdd(fnvOffset, req.Model), t.Function.Name)
		calls[i] = openaiwire.ToolCall{
			ID:       "call_" + strconv.FormatUint(h, 36) + strconv.Itoa(i),
			Type:     openaiwire.ToolTypeFunction,
			Function: openaiwire.FunctionCall{Name: t.Function.Name, Arguments: args},
		}
	}
	return calls
}

// countOpenAIImages is the number of image parts in req's messages.
func countOpenAIImages(req *openaiwire.ChatRequest) int {
	n := 0
	for i := range req.Messages {
		for _, p := range req.Messages[i].Content.Parts {
			if p.Type == openaiwire.PartImageURL {
				n++
			}
		}
	}
	return n
}

// appendOpenAIContent appends what follows "content": in a unary
// answer's message: the text or null, and the tool calls.
func (a *openaiRichAnswer) appendOpenAIContent(b []byte) []byte {
	if len(a.calls) == 0 {
		return wirejson.AppendString(b, a.text)
	}
	b = append(b, "null,\"tool_calls\":"...)
	calls, _ := wirejson.Marshal(nil, a.calls)
	return append(b, calls...)
}

// appendOpenAIPiece appends the choices of piece i's chunk.
func (a *openaiRichAnswer) appendOpenAIPiece(b []byte, i int) []byte {
	p := a.pieces[i]
	if len(a.calls) == 0 {
		b = append(b, `[{"index":0,"delta":{"content":`...)
		b = wirejson.AppendString(b, p.text)
		return append(b, `},"logprobs":null,"finish_reason":null}]`...)
	}
	d := openaiwire.ToolCallDelta{Index: p.call, Function: openaiwire.FunctionCallDelta{Arguments: p.text}}
	if p.first {
		c := a.calls[p.call]
		d.ID, d.Type, d.Function.Name = c.ID, c.Type, c.Function.Name
	}
	delta, _ := wirejson.Marshal(nil, []openaiwire.ToolCallDelta{d})
	b = append(b, `[{"index":0,"delta":{"tool_calls":`...)
	b = append(b, delta...)
	return append(b, `},"logprobs":null,"finish_reason":null}]`...)
}
