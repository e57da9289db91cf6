package compat

import (
	"strconv"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The OpenAI Responses API, stateless: a request carries the whole
// conversation in its input, and the gateway keeps nothing. Input items
// (messages, function calls and their outputs), instructions, function
// tools, tool choice, text formats, reasoning effort and the sampling
// parameters are translated to the gateway request; the stateful
// features (previous_response_id, conversation, store, background),
// hosted tools and whatever else the gateway cannot honour are refused
// naming their field. Unknown fields are refused, as the API refuses
// them.

// decodeResponses translates a Responses API request body into a gateway
// request. The model field is left for the caller to resolve; the
// settings the response echoes are kept in the options.
func decodeResponses(body []byte) (*gatewayv1.CompleteRequest, streamOptions, *apiError) {
	var in openaiwire.ResponseRequest
	if err := openaiwire.DecodeResponseRequest(body, &in); err != nil {
		return nil, streamOptions{}, decodeError(err)
	}
	opts := streamOptions{model: in.Model, stream: in.Stream, created: now()}
	if aerr := refuseResponseFeatures(&in); aerr != nil {
		return nil, opts, aerr
	}
	req := &gatewayv1.CompleteRequest{}
	if in.Instructions != "" {
		req.Messages = append(req.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_SYSTEM, Content: in.Instructions})
	}
	msgs, aerr := inputMessages(&in.Input)
	if aerr != nil {
		return nil, opts, aerr
	}
	req.Messages = append(req.Messages, msgs...)
	if aerr := responseTools(&in, req); aerr != nil {
		return nil, opts, aerr
	}
	if in.Text != nil {
		if aerr := textFormat(in.Text, req); aerr != nil {
			return nil, opts, aerr
		}
	}
	if in.Reasoning != nil {
		if aerr := responseReasoning(in.Reasoning, req); aerr != nil {
			return nil, opts, aerr
		}
	}
	req.Params = params(in.MaxOutputTokens, in.Temperature, in.TopP, nil, nil)
	subject := in.SafetyIdentifier
	if subject == "" {
		subject = in.User
	}
	if subject != "" {
		req.Caller = &gatewayv1.Caller{Subject: subject}
	}
	opts.response = responseTemplate(&in)
	return req, opts, nil
}

// statelessHint ends the message refusing a stateful feature.
const statelessHint = ": the gateway's Responses API is stateless and keeps no responses; send the whole conversation in input"

// refuseResponseFeatures refuses, by name, the request fields the gateway
// cannot honour.
func refuseResponseFeatures(in *openaiwire.ResponseRequest) *apiError {
	switch {
	case wirejson.InUse(in.PreviousResponseID):
		return badRequest("previous_response_id", "previous_response_id is not supported"+statelessHint)
	case wirejson.InUse(in.Conversation):
		return badRequest("conversation", "conversation is not supported"+statelessHint)
	case in.Store != nil && *in.Store:
		return badRequest("store", "store: true is not supported"+statelessHint+" (send store: false, or leave it out)")
	case in.Background != nil && *in.Background:
		return badRequest("background", "background responses are not supported"+statelessHint)
	case wirejson.InUse(in.Prompt):
		return badRequest("prompt", "stored prompts are not supported: send the prompt in instructions and input (gateway routes have their own prompt templates)")
	case wirejson.InUse(in.PromptCacheRetention):
		return badRequest("prompt_cache_retention", "prompt_cache_retention is not supported")
	case wirejson.InUse(in.PromptCacheOptions):
		return badRequest("prompt_cache_options", "prompt_cache_options are not supported")
	case wirejson.InUse(in.ContextManagement):
		return badRequest("context_management", "context_management is not supported")
	case wirejson.InUse(in.Moderation):
		return badRequest("moderation", "moderation is not supported")
	case wirejson.InUse(in.MaxToolCalls):
		return badRequest("max_tool_calls", "max_tool_calls is not supported")
	case in.TopLogprobs != nil && *in.TopLogprobs != 0:
		return badRequest("top_logprobs", "logprobs are not supported")
	case in.Truncation != "" && in.Truncation != "disabled":
		return badRequest("truncation", "truncation "+strconv.Quote(in.Truncation)+" is not supported: only disabled")
	case in.ServiceTier != "" && in.ServiceTier != "auto" && in.ServiceTier != "default":
		return badRequest("service_tier", "service_tier "+strconv.Quote(in.ServiceTier)+" is not supported: only auto or default")
	}
	for i, v := range in.Include {
		return badRequest("include["+strconv.Itoa(i)+"]", "include "+strconv.Quote(v)+
			" is not supported: the gateway returns no logprobs, reasoning items or hosted-tool results")
	}
	if in.Text != nil && in.Text.Verbosity != "" && in.Text.Verbosity != "medium" {
		return badRequest("text.verbosity", "text.verbosity "+strconv.Quote(in.Text.Verbosity)+" is not supported: only medium")
	}
	if r := in.Reasoning; r != nil && (r.Summary != "" || r.GenerateSummary != "") {
		field := "reasoning.summary"
		if r.Summary == "" {
			field = "reasoning.generate_summary"
		}
		return badRequest(field, "reasoning summaries are not supported: the gateway returns no reasoning items")
	}
	return nil
}

// responseTools sets the request's function tools, tool choice and
// parallel_tool_calls. Hosted tools are refused by their type.
func responseTools(in *openaiwire.ResponseRequest, req *gatewayv1.CompleteRequest) *apiError {
	for i := range in.Tools {
		t := &in.Tools[i]
		field := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != openaiwire.ToolTypeFunction {
			return badRequest(field+".type", "tool type "+strconv.Quote(t.Type)+
				" is not supported: the gateway runs no hosted tools; declare a function tool and run it yourself")
		}
		if t.Name == "" {
			return badRequest(field+".name", field+".name is required")
		}
		tool := &gatewayv1.Tool{Name: t.Name, Description: t.Description}
		if wirejson.InUse(t.Parameters) {
			tool.Parameters = &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: string(t.Parameters)}}
		}
		req.Tools = append(req.Tools, tool)
	}
	if c := in.ToolChoice; c != nil {
		tc, aerr := responseToolChoice(c)
		if aerr != nil {
			return aerr
		}
		req.ToolChoice = tc
	}
	if in.ParallelToolCalls != nil {
		p := *in.ParallelToolCalls
		req.ParallelToolCalls = &p
	}
	return nil
}

// responseToolChoice is tool_choice: a mode or a named function.
func responseToolChoice(c *openaiwire.ResponseToolChoice) (*gatewayv1.ToolChoice, *apiError) {
	if c.Type == "" {
		switch c.Mode {
		case openaiwire.ToolChoiceAuto:
			return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO}, nil
		case openaiwire.ToolChoiceNone:
			return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_NONE}, nil
		case openaiwire.ToolChoiceRequired:
			return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}, nil
		}
		return nil, badRequest("tool_choice", "tool_choice "+strconv.Quote(c.Mode)+
			" is not supported: one of auto, none, required or {\"type\":\"function\",\"name\":…}")
	}
	if c.Type != openaiwire.ToolTypeFunction {
		return nil, badRequest("tool_choice.type", "tool_choice of type "+strconv.Quote(c.Type)+" is not supported: only function")
	}
	if c.Name == "" {
		return nil, badRequest("tool_choice.name", "tool_choice.name is required")
	}
	return &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: c.Name}, nil
}

// textFormat sets the request's response format from text.format; text
// leaves it unset.
func textFormat(t *openaiwire.TextConfig, req *gatewayv1.CompleteRequest) *apiError {
	f := t.Format
	if f == nil {
		return nil
	}
	switch f.Type {
	case openaiwire.FormatText:
		return nil
	case openaiwire.FormatJSONObject:
		req.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_OBJECT}
		return nil
	case openaiwire.FormatJSONSchema:
		if f.Name == "" {
			return badRequest("text.format.name", "text.format.name is required with type json_schema")
		}
		if !wirejson.InUse(f.Schema) {
			return badRequest("text.format.schema", "text.format.schema is required with type json_schema")
		}
		req.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: f.Name, Description: f.Description, Strict: f.Strict != nil && *f.Strict,
			Schema: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: string(f.Schema)}}}
		return nil
	}
	return badRequest("text.format.type", "text.format "+strconv.Quote(f.Type)+
		" is not supported: one of text, json_object, json_schema")
}

// responseReasoning sets the request's reasoning effort.
func responseReasoning(r *openaiwire.ReasoningConfig, req *gatewayv1.CompleteRequest) *apiError {
	if aerr := chatReasoning(r.Effort, req); aerr != nil {
		aerr.param = "reasoning.effort"
		aerr.message = "reasoning.effort " + strconv.Quote(r.Effort) + " is not supported: one of minimal, low, medium, high"
		return aerr
	}
	return nil
}
