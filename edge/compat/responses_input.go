package compat

import (
	"slices"
	"strconv"
	"strings"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// inputMessages translates a Responses input into the conversation: a
// string is one user message; items are messages, function calls and
// function call outputs. A function call joins the assistant message
// before it (the API sends each of an answer's calls as an item of its
// own, the gateway as parts of one assistant message); each output is a
// tool message.
func inputMessages(in *openaiwire.ResponseInput) ([]*gatewayv1.Message, *apiError) {
	if in.Items == nil {
		if in.Text == "" {
			return nil, badRequest("input", "input is required: a string or an array of input items")
		}
		return []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: in.Text}}, nil
	}
	if len(in.Items) == 0 {
		return nil, badRequest("input", "input must not be empty")
	}
	out := make([]*gatewayv1.Message, 0, len(in.Items))
	// calls is the assistant message function calls join, nil when the
	// last item was no assistant message or call.
	var calls *gatewayv1.Message
	for i := range in.Items {
		it := &in.Items[i]
		field := "input[" + strconv.Itoa(i) + "]"
		if aerr := checkItemFields(field, it); aerr != nil {
			return nil, aerr
		}
		switch it.Type {
		case "", openaiwire.ItemMessage:
			m, aerr := inputMessage(field, it)
			if aerr != nil {
				return nil, aerr
			}
			calls = nil
			if m == nil {
				continue
			}
			if m.Role == gatewayv1.Role_ROLE_ASSISTANT {
				calls = m
			}
			out = append(out, m)
		case openaiwire.ItemFunctionCall:
			if it.CallID == "" {
				return nil, badRequest(field+".call_id", field+".call_id is required")
			}
			if it.Name == "" {
				return nil, badRequest(field+".name", field+".name is required")
			}
			if calls == nil {
				calls = &gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT}
				out = append(out, calls)
			}
			if calls.Content != "" {
				calls.Parts = []*gatewayv1.Part{{Kind: &gatewayv1.Part_Text{Text: calls.Content}}}
				calls.Content = ""
			}
			calls.Parts = append(calls.Parts, &gatewayv1.Part{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{
				Id: it.CallID, Name: it.Name, Arguments: it.Arguments}}})
		case openaiwire.ItemFunctionCallOutput:
			if it.CallID == "" {
				return nil, badRequest(field+".call_id", field+".call_id is required")
			}
			text, aerr := outputText(field+".output", it.Output)
			if aerr != nil {
				return nil, aerr
			}
			calls = nil
			out = append(out, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{{
				Kind: &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{ToolCallId: it.CallID, Content: text}}}}})
		default:
			return nil, badRequest(field+".type", "input item type "+strconv.Quote(it.Type)+
				" is not supported: one of message, function_call, function_call_output")
		}
	}
	// Checked here, not left to validation, whose message would name the
	// gateway's messages rather than input.
	if !slices.ContainsFunc(out, func(m *gatewayv1.Message) bool { return m.Role == gatewayv1.Role_ROLE_USER }) {
		return nil, badRequest("input", "input must hold at least one user message")
	}
	return out, nil
}

// checkItemFields refuses the fields that do not belong to an item's
// type, as the API refuses unknown parameters.
func checkItemFields(field string, it *openaiwire.InputItem) *apiError {
	var bad string
	switch it.Type {
	case "", openaiwire.ItemMessage:
		switch {
		case it.CallID != "":
			bad = "call_id"
		case it.Name != "":
			bad = "name"
		case it.Arguments != "":
			bad = "arguments"
		case it.Output != nil:
			bad = "output"
		case it.ParsedArguments != nil:
			bad = "parsed_arguments"
		}
	case openaiwire.ItemFunctionCall:
		switch {
		case it.Role != "":
			bad = "role"
		case it.Content != nil:
			bad = "content"
		case it.Phase != "":
			bad = "phase"
		case it.Output != nil:
			bad = "output"
		}
	case openaiwire.ItemFunctionCallOutput:
		switch {
		case it.Role != "":
			bad = "role"
		case it.Content != nil:
			bad = "content"
		case it.Phase != "":
			bad = "phase"
		case it.Name != "":
			bad = "name"
		case it.Arguments != "":
			bad = "arguments"
		case it.ParsedArguments != nil:
			bad = "parsed_arguments"
		}
	}
	if bad == "" {
		return nil
	}
	kind := it.Type
	if kind == "" {
		kind = openaiwire.ItemMessage
	}
	return badRequest(field+"."+bad, "unknown parameter "+field+"."+bad+": not a field of a "+kind+" item")
}

// inputMessage translates a message item; nil for an assistant message
// with no text (an empty answer sent back).
func inputMessage(field string, it *openaiwire.InputItem) (*gatewayv1.Message, *apiError) {
	var role gatewayv1.Role
	switch it.Role {
	case openaiwire.RoleUser:
		role = gatewayv1.Role_ROLE_USER
	case openaiwire.RoleSystem, openaiwire.RoleDeveloper:
		role = gatewayv1.Role_ROLE_SYSTEM
	case openaiwire.RoleAssistant:
		role = gatewayv1.Role_ROLE_ASSISTANT
	case "":
		return nil, badRequest(field+".role", field+".role is required in a message item")
	default:
		return nil, badRequest(field+".role", "unknown role "+strconv.Quote(it.Role)+": one of user, system, developer, assistant")
	}
	c := it.Content
	if c == nil {
		return nil, badRequest(field+".content", field+".content is required in a message item")
	}
	if c.Parts == nil {
		if c.Text == "" {
			if role == gatewayv1.Role_ROLE_ASSISTANT {
				return nil, nil
			}
			return nil, badRequest(field+".content", field+".content: the message must not be empty")
		}
		return &gatewayv1.Message{Role: role, Content: c.Text}, nil
	}
	parts := make([]*gatewayv1.Part, 0, len(c.Parts))
	for j := range c.Parts {
		p, aerr := inputPart(field+".content["+strconv.Itoa(j)+"]", role, &c.Parts[j])
		if aerr != nil {
			return nil, aerr
		}
		if p != nil {
			parts = append(parts, p)
		}
	}
	switch {
	case len(parts) == 0 && role == gatewayv1.Role_ROLE_ASSISTANT:
		return nil, nil
	case len(parts) == 0:
		return nil, badRequest(field+".content", field+".content: the message must not be empty")
	case !hasImage(parts):
		// Text only: one string, as the chat path sends it.
		texts := make([]string, len(parts))
		for k, p := range parts {
			texts[k] = p.GetText()
		}
		return &gatewayv1.Message{Role: role, Content: strings.Join(texts, "\n")}, nil
	}
	return &gatewayv1.Message{Role: role, Parts: parts}, nil
}

// inputPart translates one content part: input text for user and system
// messages, output text and refusals for assistant ones, and images
// (by URL) for user messages. An empty text part is nil.
func inputPart(field string, role gatewayv1.Role, p *openaiwire.InputPart) (*gatewayv1.Part, *apiError) {
	assistant := role == gatewayv1.Role_ROLE_ASSISTANT
	text := func(s string) *gatewayv1.Part {
		if s == "" {
			return nil
		}
		return &gatewayv1.Part{Kind: &gatewayv1.Part_Text{Text: s}}
	}
	switch {
	case p.Type == openaiwire.PartInputText && !assistant:
		return text(p.Text), nil
	case p.Type == openaiwire.PartOutputText && assistant:
		return text(p.Text), nil
	case p.Type == openaiwire.PartRefusal && assistant:
		return text(p.Refusal), nil
	case p.Type == openaiwire.PartInputImage && role == gatewayv1.Role_ROLE_USER:
		if p.FileID != "" {
			return nil, badRequest(field+".file_id", "images by file_id are not supported: the gateway has no file store; send image_url (https: or data:)")
		}
		if p.ImageURL == "" {
			return nil, badRequest(field+".image_url", field+".image_url is required")
		}
		if p.Detail != "" && p.Detail != "auto" {
			return nil, badRequest(field+".detail", "image detail "+strconv.Quote(p.Detail)+
				" is not supported: the gateway sends images at the provider's default detail")
		}
		return &gatewayv1.Part{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: p.ImageURL}}}}, nil
	case p.Type == openaiwire.PartInputFile:
		return nil, badRequest(field+".type", "input_file parts are not supported: the gateway carries text and images only")
	}
	want := "input_text or input_image"
	switch role {
	case gatewayv1.Role_ROLE_ASSISTANT:
		want = "output_text or refusal"
	case gatewayv1.Role_ROLE_SYSTEM:
		want = "input_text"
	}
	return nil, badRequest(field+".type", "content of type "+strconv.Quote(p.Type)+" is not supported in this message: "+want)
}

// outputText is a function call output as the tool result's text: the
// string, or its input_text parts joined with newlines. Other parts are
// refused.
func outputText(field string, c *openaiwire.InputContent) (string, *apiError) {
	if c == nil {
		return "", badRequest(field, field+" is required in a function_call_output item")
	}
	if c.Parts == nil {
		return c.Text, nil
	}
	for j := range c.Parts {
		if t := c.Parts[j].Type; t != openaiwire.PartInputText {
			return "", badRequest(field+"["+strconv.Itoa(j)+"].type", "function_call_output content of type "+
				strconv.Quote(t)+" is not supported: the gateway carries tool results as text (input_text)")
		}
	}
	return wirejson.JoinText(c.Parts, func(p *openaiwire.InputPart) (string, bool) { return p.Text, true }), nil
}
