package compat

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The rich parts of an Anthropic Messages request: tools, tool choice,
// content blocks (images, tool calls and results, thinking), prompt-cache
// breakpoints and extended thinking, each translated to the gateway
// request or refused by name.

// messageTools translates a request's tools, tool_choice and thinking
// into req. Server tools (any tool with a type other than "custom") and
// MCP servers are refused.
func messageTools(in *anthropicwire.MessagesRequest, req *gatewayv1.CompleteRequest) *apiError {
	if wirejson.InUse(in.MCPServers) {
		return badRequest("mcp_servers", "mcp_servers is not supported: declare client tools in tools")
	}
	if wirejson.InUse(in.Tools) {
		var tools []json.RawMessage
		if err := json.Unmarshal(in.Tools, &tools); err != nil {
			return badRequest("tools", "tools: must be an array of tool objects")
		}
		for i, raw := range tools {
			field := "tools[" + strconv.Itoa(i) + "]"
			var head struct {
				Type string `json:"type"`
			}
			var t anthropicwire.Tool
			if json.Unmarshal(raw, &head) != nil || json.Unmarshal(raw, &t) != nil {
				return badRequest(field, field+" must be a tool object")
			}
			switch {
			case head.Type != "" && head.Type != "custom":
				return badRequest(field+".type", field+".type: server tool type "+strconv.Quote(head.Type)+
					" is not supported: only client tools with an input_schema")
			case t.CacheControl != nil:
				return badRequest(field+".cache_control", field+".cache_control: cache_control on a tool is not supported: put it on the system prompt or a message block")
			case len(t.InputSchema) == 0 || string(t.InputSchema) == "null":
				return badRequest(field+".input_schema", field+".input_schema is required")
			}
			req.Tools = append(req.Tools, &gatewayv1.Tool{Name: t.Name, Description: t.Description,
				Parameters: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: string(t.InputSchema)}}})
		}
	}
	if wirejson.InUse(in.ToolChoice) {
		var c anthropicwire.ToolChoice
		if err := json.Unmarshal(in.ToolChoice, &c); err != nil {
			return badRequest("tool_choice", "tool_choice: must be an object with a type")
		}
		tc := &gatewayv1.ToolChoice{}
		switch c.Type {
		case anthropicwire.ToolChoiceAuto:
			tc.Mode = gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO
		case anthropicwire.ToolChoiceAny:
			tc.Mode = gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED
		case anthropicwire.ToolChoiceNone:
			tc.Mode = gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_NONE
		case anthropicwire.ToolChoiceTool:
			if c.Name == "" {
				return badRequest("tool_choice.name", "tool_choice.name is required with type \"tool\"")
			}
			tc.Mode, tc.Name = gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, c.Name
		default:
			return badRequest("tool_choice.type", "tool_choice.type "+strconv.Quote(c.Type)+" is not one of auto, any, tool, none")
		}
		req.ToolChoice = tc
		if c.DisableParallelToolUse {
			no := false
			req.ParallelToolCalls = &no
		}
	}
	if th := in.Thinking; th != nil {
		switch th.Type {
		case "", "disabled":
		case "enabled":
			if th.BudgetTokens < 1024 {
				return badRequest("thinking.budget_tokens", "thinking.budget_tokens: must be at least 1024 with type \"enabled\"")
			}
			n := clamp32(th.BudgetTokens)
			req.Reasoning = &gatewayv1.Reasoning{BudgetTokens: &n}
		default:
			return badRequest("thinking.type", "thinking.type "+strconv.Quote(th.Type)+" is not supported: enabled or disabled")
		}
	}
	return nil
}

// cachePoint translates a cache_control breakpoint; nil for none.
func cachePoint(field string, c *anthropicwire.CacheControl) (*gatewayv1.PromptCachePoint, *apiError) {
	if c == nil {
		return nil, nil
	}
	if c.Type != "ephemeral" {
		return nil, badRequest(field+".type", field+".type "+strconv.Quote(c.Type)+" is not supported: only \"ephemeral\"")
	}
	p := &gatewayv1.PromptCachePoint{}
	switch c.TTL {
	case "":
	case "5m":
		p.Ttl = durationpb.New(5 * time.Minute)
	case "1h":
		p.Ttl = durationpb.New(time.Hour)
	default:
		return nil, badRequest(field+".ttl", field+".ttl "+strconv.Quote(c.TTL)+" is not supported: \"5m\" or \"1h\"")
	}
	return p, nil
}

// plainText reports whether c is only text without breakpoints, which
// the gateway carries as a message's content string.
func plainText(c *anthropicwire.Content) bool {
	for i := range c.Blocks {
		if c.Blocks[i].Type != anthropicwire.BlockText || c.Blocks[i].CacheControl != nil {
			return false
		}
	}
	return true
}

// messageParts translates the content blocks of a message of role (the
// system prompt has role system) into parts.
func messageParts(field string, role gatewayv1.Role, c *anthropicwire.Content) ([]*gatewayv1.Part, *apiError) {
	parts := make([]*gatewayv1.Part, 0, len(c.Blocks))
	for i := range c.Blocks {
		b := &c.Blocks[i]
		bf := field + "[" + strconv.Itoa(i) + "]"
		p := &gatewayv1.Part{}
		only := func(want gatewayv1.Role) *apiError {
			if role != want {
				return badRequest(bf+".type", bf+".type: a "+string(b.Type)+" block is not allowed in a "+strings.ToLower(strings.TrimPrefix(role.String(), "ROLE_"))+" message")
			}
			return nil
		}
		var aerr *apiError
		switch b.Type {
		case anthropicwire.BlockText:
			p.Kind = &gatewayv1.Part_Text{Text: b.Text}
		case anthropicwire.BlockImage:
			if aerr = only(gatewayv1.Role_ROLE_USER); aerr == nil {
				p.Kind, aerr = imagePart(bf+".source", b.Source)
			}
		case anthropicwire.BlockToolUse:
			if aerr = only(gatewayv1.Role_ROLE_ASSISTANT); aerr == nil {
				args := "{}"
				if len(b.Input) > 0 {
					args = string(b.Input)
				}
				p.Kind = &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: b.ID, Name: b.Name, Arguments: args}}
			}
		case anthropicwire.BlockToolResult:
			if aerr = only(gatewayv1.Role_ROLE_USER); aerr == nil {
				var text string
				if text, aerr = toolResultText(bf+".content", b.Content); aerr == nil {
					p.Kind = &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{ToolCallId: b.ToolUseID, Content: text, IsError: b.IsError}}
				}
			}
		case anthropicwire.BlockThinking:
			if aerr = only(gatewayv1.Role_ROLE_ASSISTANT); aerr == nil {
				p.Kind = &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Text: b.Thinking, Signature: b.Signature}}
			}
		case anthropicwire.BlockRedactedThinking:
			if aerr = only(gatewayv1.Role_ROLE_ASSISTANT); aerr == nil {
				p.Kind = &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Redacted: b.Data}}
			}
		default:
			aerr = badRequest(bf+".type", bf+".type: content of type "+strconv.Quote(string(b.Type))+" is not supported")
		}
		if aerr != nil {
			return nil, aerr
		}
		if p.CachePoint, aerr = cachePoint(bf+".cache_control", b.CacheControl); aerr != nil {
			return nil, aerr
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// imagePart translates an image block's source.
func imagePart(field string, raw json.RawMessage) (*gatewayv1.Part_Image, *apiError) {
	var s anthropicwire.ImageSource
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badRequest(field, field+" must be an object")
	}
	switch s.Type {
	case anthropicwire.SourceBase64:
		data, err := base64.StdEncoding.DecodeString(s.Data)
		if err != nil || len(data) == 0 {
			return nil, badRequest(field+".data", field+".data must be non-empty base64")
		}
		return &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: data}, MediaType: s.MediaType}}, nil
	case anthropicwire.SourceURL:
		if s.URL == "" {
			return nil, badRequest(field+".url", field+".url is required")
		}
		return &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: s.URL}}}, nil
	}
	return nil, badRequest(field+".type", field+".type: image source type "+strconv.Quote(s.Type)+" is not supported: base64 or url")
}

// toolResultText is a tool_result's content: a string, or text blocks
// joined with newlines; other blocks are refused.
func toolResultText(field string, raw json.RawMessage) (string, *apiError) {
	if len(raw) == 0 {
		return "", nil
	}
	var c anthropicwire.Content
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", badRequest(field, field+": "+err.Error())
	}
	if i := c.NonText(); i >= 0 {
		return "", badRequest(field+"["+strconv.Itoa(i)+"].type", field+"["+strconv.Itoa(i)+"].type: a tool_result's content of type "+
			strconv.Quote(string(c.Blocks[i].Type))+" is not supported: text only")
	}
	return c.String(), nil
}
