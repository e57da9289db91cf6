package compat

import (
	"bytes"
	"encoding/json"
	"strconv"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The rich surface of Chat Completions: function tools, tool choice,
// assistant tool calls and tool results, response formats, image parts and
// reasoning effort, translated to the gateway request; tool calls and
// token details translated back. Whatever the gateway cannot carry is
// refused naming its field.

// chatTools sets the request's tools, tool choice and parallel_tool_calls.
func chatTools(in *openaiwire.ChatRequest, req *gatewayv1.CompleteRequest) *apiError {
	if wirejson.InUse(in.Functions) {
		return badRequest("functions", "functions are not supported: use tools")
	}
	if wirejson.InUse(in.Tools) {
		var tools []json.RawMessage
		if err := json.Unmarshal(in.Tools, &tools); err != nil {
			return badRequest("tools", "tools must be an array of tool objects")
		}
		for i, raw := range tools {
			field := "tools[" + strconv.Itoa(i) + "]"
			var t openaiwire.Tool
			if err := json.Unmarshal(raw, &t); err != nil {
				return badRequest(field, field+" must be a tool object: "+err.Error())
			}
			if t.Type != openaiwire.ToolTypeFunction {
				return badRequest(field+".type", "tool type "+strconv.Quote(t.Type)+
					" is not supported: only function tools")
			}
			if t.Function.Name == "" {
				return badRequest(field+".function.name", field+".function.name is required")
			}
			tool := &gatewayv1.Tool{Name: t.Function.Name, Description: t.Function.Description}
			if wirejson.InUse(t.Function.Parameters) {
				tool.Parameters = &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: string(t.Function.Parameters)}}
			}
			req.Tools = append(req.Tools, tool)
		}
	}
	if wirejson.InUse(in.ToolChoice) {
		tc, aerr := chatToolChoice(in.ToolChoice)
		if aerr != nil {
			return aerr
		}
		req.ToolChoice = tc
	}
	if raw := bytes.TrimSpace(in.ParallelToolCalls); len(raw) > 0 && !isJSONNull(raw) {
		var p bool
		if err := json.Unmarshal(in.ParallelToolCalls, &p); err != nil {
			return badRequest("parallel_tool_calls", "parallel_tool_calls must be a boolean")
		}
		req.ParallelToolCalls = &p
	}
	return nil
}

// chatToolChoice is tool_choice: "auto", "none", "required" or a named
// function.
func chatToolChoice(raw json.RawMessage) (*gatewayv1.ToolChoice, *apiError) {
	raw = bytes.TrimSpace(raw)
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case openaiwire.ToolChoiceAuto:
			return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO}, nil
		case openaiwire.ToolChoiceNone:
			return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_NONE}, nil
		case openaiwire.ToolChoiceRequired:
			return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}, nil
		}
		return nil, badRequest("tool_choice", "tool_choice "+strconv.Quote(s)+" is not supported: one of auto, none, required or a named function")
	}
	var n openaiwire.NamedToolChoice
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, badRequest("tool_choice", "tool_choice must be a string or an object naming a function")
	}
	if n.Type != openaiwire.ToolTypeFunction {
		return nil, badRequest("tool_choice.type", "tool_choice of type "+strconv.Quote(n.Type)+" is not supported: only function")
	}
	if n.Function.Name == "" {
		return nil, badRequest("tool_choice.function.name", "tool_choice.function.name is required")
	}
	return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: n.Function.Name}, nil
}

// chatResponseFormat sets the request's response format; text leaves it
// unset.
func chatResponseFormat(f *openaiwire.ResponseFormat, req *gatewayv1.CompleteRequest) *apiError {
	if f == nil {
		return nil
	}
	switch f.Type {
	case "", openaiwire.FormatText:
		return nil
	case openaiwire.FormatJSONObject:
		req.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_OBJECT}
		return nil
	case openaiwire.FormatJSONSchema:
		s := f.JSONSchema
		if s == nil {
			return badRequest("response_format.json_schema", "response_format.json_schema is required with type json_schema")
		}
		if s.Name == "" {
			return badRequest("response_format.json_schema.name", "response_format.json_schema.name is required")
		}
		rf := &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: s.Name, Description: s.Description, Strict: s.Strict != nil && *s.Strict}
		if wirejson.InUse(s.Schema) {
			rf.Schema = &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: string(s.Schema)}}
		}
		req.ResponseFormat = rf
		return nil
	}
	return badRequest("response_format.type", "response_format "+strconv.Quote(f.Type)+
		" is not supported: one of text, json_object, json_schema")
}

// chatReasoning sets the request's reasoning effort.
func chatReasoning(effort string, req *gatewayv1.CompleteRequest) *apiError {
	e, ok := map[string]gatewayv1.ReasoningEffort{
		"":        gatewayv1.ReasoningEffort_REASONING_EFFORT_UNSPECIFIED,
		"minimal": gatewayv1.ReasoningEffort_REASONING_EFFORT_MINIMAL,
		"low":     gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW,
		"medium":  gatewayv1.ReasoningEffort_REASONING_EFFORT_MEDIUM,
		"high":    gatewayv1.ReasoningEffort_REASONING_EFFORT_HIGH,
	}[effort]
	if !ok {
		return badRequest("reasoning_effort", "reasoning_effort "+strconv.Quote(effort)+
			" is not supported: one of minimal, low, medium, high")
	}
	if e != gatewayv1.ReasoningEffort_REASONING_EFFORT_UNSPECIFIED {
		req.Reasoning = &gatewayv1.Reasoning{Effort: e}
	}
	return nil
}

// chatContentParts is a user or system content as gateway parts: text and
// image_url parts (https: or data: URLs). A string content is one text
// part.
func chatContentParts(field string, c *openaiwire.Content) ([]*gatewayv1.Part, *apiError) {
	if !c.IsArray() {
		if c.Text == "" {
			return nil, nil
		}
		return []*gatewayv1.Part{{Kind: &gatewayv1.Part_Text{Text: c.Text}}}, nil
	}
	parts := make([]*gatewayv1.Part, 0, len(c.Parts))
	for i := range c.Parts {
		p := &c.Parts[i]
		pf := field + "[" + strconv.Itoa(i) + "]"
		switch p.Type {
		case openaiwire.PartText:
			parts = append(parts, &gatewayv1.Part{Kind: &gatewayv1.Part_Text{Text: p.Text}})
		case openaiwire.PartImageURL:
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, badRequest(pf+".image_url.url", pf+".image_url.url is required")
			}
			if p.ImageURL.Detail != "" && p.ImageURL.Detail != "auto" {
				return nil, badRequest(pf+".image_url.detail", "image detail "+strconv.Quote(p.ImageURL.Detail)+
					" is not supported: the gateway sends images at the provider's default detail")
			}
			parts = append(parts, &gatewayv1.Part{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{
				Source: &gatewayv1.Image_Url{Url: p.ImageURL.URL}}}})
		default:
			return nil, badRequest(pf+".type", "content of type "+strconv.Quote(p.Type)+
				" is not supported: one of text, image_url")
		}
	}
	return parts, nil
}

// hasImage reports whether parts hold an image.
func hasImage(parts []*gatewayv1.Part) bool {
	for _, p := range parts {
		if p.GetImage() != nil {
			return true
		}
	}
	return false
}

// chatMessage translates one message of a rich conversation.
func chatMessage(field string, m *openaiwire.Message) (*gatewayv1.Message, *apiError) {
	if wirejson.InUse(m.FunctionCall) {
		return nil, badRequest(field+".function_call", "function_call is not supported: use tool_calls")
	}
	switch m.Role {
	case openaiwire.RoleTool:
		if m.ToolCallID == "" {
			return nil, badRequest(field+".tool_call_id", field+".tool_call_id is required in a tool message")
		}
		text, aerr := flattenOpenAI(field+".content", &m.Content)
		if aerr != nil {
			return nil, aerr
		}
		return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{{Kind: &gatewayv1.Part_ToolResult{
			ToolResult: &gatewayv1.ToolResult{ToolCallId: m.ToolCallID, Content: text}}}}}, nil
	case openaiwire.RoleFunction:
		return nil, badRequest(field+".role", "messages with role \"function\" are not supported: use tool messages")
	case openaiwire.RoleAssistant:
		text, aerr := flattenOpenAI(field+".content", &m.Content)
		if aerr != nil {
			return nil, aerr
		}
		if !wirejson.InUse(m.ToolCalls) {
			return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT, Content: text}, nil
		}
		var calls []openaiwire.ToolCall
		if err := json.Unmarshal(m.ToolCalls, &calls); err != nil {
			return nil, badRequest(field+".tool_calls", field+".tool_calls must be an array of tool calls")
		}
		out := &gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT}
		if text != "" {
			out.Parts = append(out.Parts, &gatewayv1.Part{Kind: &gatewayv1.Part_Text{Text: text}})
		}
		for j, c := range calls {
			cf := field + ".tool_calls[" + strconv.Itoa(j) + "]"
			if c.Type != "" && c.Type != openaiwire.ToolTypeFunction {
				return nil, badRequest(cf+".type", "tool call type "+strconv.Quote(c.Type)+" is not supported: only function")
			}
			out.Parts = append(out.Parts, &gatewayv1.Part{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{
				Id: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments}}})
		}
		return out, nil
	}
	return nil, nil
}

// appendToolCalls appends `,"tool_calls":[…]` for the answer's tool-call
// parts; nothing when it has none.
func appendToolCalls(b []byte, parts []*gatewayv1.Part) []byte {
	first := true
	for _, p := range parts {
		c := p.GetToolCall()
		if c == nil {
			continue
		}
		if first {
			b = append(b, `,"tool_calls":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = wirejson.AppendString(b, c.GetId())
		b = append(b, `,"type":"function","function":{"name":`...)
		b = wirejson.AppendString(b, c.GetName())
		b = append(b, `,"arguments":`...)
		b = wirejson.AppendString(b, c.GetArguments())
		b = append(b, "}}"...)
	}
	if !first {
		b = append(b, ']')
	}
	return b
}

// hasToolCalls reports whether parts hold a tool call.
func hasToolCalls(parts []*gatewayv1.Part) bool {
	for _, p := range parts {
		if p.GetToolCall() != nil {
			return true
		}
	}
	return false
}

// toolCallDelta appends one streamed tool-call chunk as OpenAI sends it:
// a call's first delta with its index, id, type and name and empty
// arguments, later ones with the index and an arguments fragment. The
// upstream index is renumbered to the call's position among the answer's
// calls.
func (c *chatChunks) toolCallDelta(b []byte, d *gatewayv1.ToolCallDelta) []byte {
	idx, seen := c.calls[d.GetIndex()]
	if !seen {
		if c.calls == nil {
			c.calls = map[int32]int{}
		}
		idx = len(c.calls)
		c.calls[d.GetIndex()] = idx
	}
	b = c.head(b, c.model)
	b = append(b, `[{"index":0,"delta":{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	if !seen || d.GetId() != "" || d.GetName() != "" {
		b = append(b, `,"id":`...)
		b = wirejson.AppendString(b, d.GetId())
		b = append(b, `,"type":"function","function":{"name":`...)
		b = wirejson.AppendString(b, d.GetName())
		b = append(b, `,"arguments":`...)
	} else {
		b = append(b, `,"function":{"arguments":`...)
	}
	b = wirejson.AppendString(b, d.GetArguments())
	b = append(b, `}}]},"logprobs":null,"finish_reason":null}]`...)
	return openaiwire.AppendChunkTail(b, c.includeUsage, nil)
}

// isJSONNull reports whether raw is JSON null.
func isJSONNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
