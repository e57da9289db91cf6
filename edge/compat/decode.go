package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// streamOptions is what a request asks of the answer besides the gateway
// request itself.
type streamOptions struct {
	// model is the model field as the caller sent it; answers from no
	// model (a degraded answer) and stream events sent before the answering
	// model is known report it.
	model string
	// stream asks for server-sent events.
	stream bool
	// includeUsage asks an OpenAI stream for its final usage chunk.
	includeUsage bool
	// created is the Unix time of OpenAI's "created".
	created int64
	// response is a Responses API request's response object before the
	// answer, echoing the request's settings.
	response *openaiwire.Response
}

// flatten returns the text of a message's content, given the count of
// its array parts and the index of the first part that is not text (-1
// for none): an array's text parts are joined with newlines. Any other
// part type is refused, naming field.
func flatten(field, text string, nonText int, partType func(int) string) (string, *apiError) {
	if nonText >= 0 {
		return "", badRequest(field+"["+strconv.Itoa(nonText)+"].type",
			"content of type "+strconv.Quote(partType(nonText))+" is not supported: the gateway answers text only")
	}
	return text, nil
}

// flattenOpenAI is [flatten] for an OpenAI content.
func flattenOpenAI(field string, c *openaiwire.Content) (string, *apiError) {
	return flatten(field, c.String(), c.NonText(), func(i int) string { return c.Parts[i].Type })
}

// flattenAnthropic is [flatten] for an Anthropic content.
func flattenAnthropic(field string, c *anthropicwire.Content) (string, *apiError) {
	return flatten(field, c.String(), c.NonText(), func(i int) string { return string(c.Blocks[i].Type) })
}

// decodeError turns encoding/json's error into a message for the caller,
// naming the field and the expected type without Go type names.
func decodeError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var fe *openaiwire.FieldError
	var pe *openaiwire.TypeError
	switch {
	case errors.As(err, &fe):
		return badRequest(fe.Field, "unknown parameter: "+strconv.Quote(fe.Field))
	case errors.As(err, &pe):
		return badRequest(pe.Field, "the request body's field "+strconv.Quote(pe.Field)+" must not be a JSON "+pe.Value+" here")
	case errors.As(err, &se):
		return badRequest("", "the request body is not valid JSON (at byte "+strconv.FormatInt(se.Offset, 10)+"): "+se.Error())
	case errors.As(err, &te):
		field := te.Field
		return badRequest(field, "the request body's field "+strconv.Quote(field)+" must not be a JSON "+te.Value+" here")
	case errors.Is(err, openaiwire.ErrContent), errors.Is(err, anthropicwire.ErrContent),
		errors.Is(err, openaiwire.ErrInput), errors.Is(err, openaiwire.ErrInputContent), errors.Is(err, openaiwire.ErrToolChoice):
		return badRequest("", err.Error())
	}
	return badRequest("", "the request body is not valid JSON: "+err.Error())
}

// clamp32 narrows a JSON integer for the gateway request without wrapping:
// an out-of-range value stays out of range, so that validation refuses it
// with the field's limits.
func clamp32(n int64) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	}
	return int32(n)
}

// decodeChat translates an OpenAI chat completion request body into a
// gateway request. The model field is left for the caller to resolve.
//
// Fields it does not know are ignored, as OpenAI's own optional tuning
// fields (penalties, logit_bias, store, metadata, service_tier …) are;
// function tools, tool calls and results, response formats, image parts
// and reasoning effort are translated (see openai_rich.go); features it
// cannot honour are refused.
func decodeChat(body []byte) (*gatewayv1.CompleteRequest, streamOptions, *apiError) {
	var in openaiwire.ChatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, streamOptions{}, decodeError(err)
	}
	opts := streamOptions{model: in.Model, stream: in.Stream, created: now()}
	if in.StreamOptions != nil {
		opts.includeUsage = in.StreamOptions.IncludeUsage
	}
	switch {
	case in.N != nil && *in.N != 1:
		return nil, opts, badRequest("n", "n must be 1: the gateway returns one choice")
	case wirejson.InUse(in.Logprobs):
		return nil, opts, badRequest("logprobs", "logprobs are not supported")
	case wirejson.InUse(in.Audio):
		return nil, opts, badRequest("audio", "audio output is not supported: the gateway answers text only")
	case wirejson.InUse(in.WebSearchOptions):
		return nil, opts, badRequest("web_search_options", "web search is not supported")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return nil, opts, badRequest("modalities", "modality "+strconv.Quote(m)+" is not supported: only text")
		}
	}
	req := &gatewayv1.CompleteRequest{Messages: make([]*gatewayv1.Message, len(in.Messages))}
	for i := range in.Messages {
		m := &in.Messages[i]
		field := "messages[" + strconv.Itoa(i) + "]"
		var role gatewayv1.Role
		switch m.Role {
		case openaiwire.RoleSystem, openaiwire.RoleDeveloper:
			role = gatewayv1.Role_ROLE_SYSTEM
		case openaiwire.RoleUser:
			role = gatewayv1.Role_ROLE_USER
		case openaiwire.RoleAssistant, openaiwire.RoleTool, openaiwire.RoleFunction:
			msg, aerr := chatMessage(field, m)
			if aerr != nil {
				return nil, opts, aerr
			}
			req.Messages[i] = msg
			continue
		default:
			return nil, opts, badRequest(field+".role", "unknown role "+strconv.Quote(m.Role)+
				": one of system, developer, user, assistant, tool")
		}
		if wirejson.InUse(m.ToolCalls) || wirejson.InUse(m.FunctionCall) {
			return nil, opts, badRequest(field+".tool_calls", "tool calls are only carried in assistant messages")
		}
		parts, aerr := chatContentParts(field+".content", &m.Content)
		if aerr != nil {
			return nil, opts, aerr
		}
		if hasImage(parts) {
			req.Messages[i] = &gatewayv1.Message{Role: role, Parts: parts}
			continue
		}
		req.Messages[i] = &gatewayv1.Message{Role: role, Content: m.Content.String()}
	}
	if aerr := chatTools(&in, req); aerr != nil {
		return nil, opts, aerr
	}
	if aerr := chatResponseFormat(in.ResponseFormat, req); aerr != nil {
		return nil, opts, aerr
	}
	if aerr := chatReasoning(in.ReasoningEffort, req); aerr != nil {
		return nil, opts, aerr
	}
	maxTokens := in.MaxCompletionTokens
	if maxTokens == nil {
		maxTokens = in.MaxTokens
	}
	req.Params = params(maxTokens, in.Temperature, in.TopP, []string(in.Stop), in.Seed)
	subject := in.User
	if subject == "" {
		subject = in.SafetyIdentifier
	}
	if subject != "" {
		req.Caller = &gatewayv1.Caller{Subject: subject}
	}
	return req, opts, nil
}

// params is the gateway's generation parameters; nil when none is set.
func params(maxTokens *int64, temperature, topP *float64, stop []string, seed *int64) *gatewayv1.GenerationParams {
	if maxTokens == nil && temperature == nil && topP == nil && len(stop) == 0 && seed == nil {
		return nil
	}
	p := &gatewayv1.GenerationParams{Temperature: temperature, TopP: topP, Stop: stop, Seed: seed}
	if maxTokens != nil {
		n := clamp32(*maxTokens)
		p.MaxTokens = &n
	}
	return p
}

// decodeMessages translates an Anthropic Messages request body into a
// gateway request: the system prompt (a string or text blocks) becomes a
// leading system message. The model field is left for the caller to
// resolve. Unknown fields and top_k are ignored; tools, tool choice,
// images, tool calls and results, thinking, cache breakpoints and the
// structured-output parameter are translated (see messages.go), and what
// the gateway cannot carry is refused by name.
func decodeMessages(body []byte) (*gatewayv1.CompleteRequest, streamOptions, *apiError) {
	var in anthropicwire.MessagesRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, streamOptions{}, decodeError(err)
	}
	opts := streamOptions{model: in.Model, stream: in.Stream, created: now()}
	req := &gatewayv1.CompleteRequest{Messages: make([]*gatewayv1.Message, 0, len(in.Messages)+1)}
	if aerr := messageTools(&in, req); aerr != nil {
		return nil, opts, aerr
	}
	if plainText(&in.System) {
		system, aerr := flattenAnthropic("system", &in.System)
		if aerr != nil {
			return nil, opts, aerr
		}
		if system != "" {
			req.Messages = append(req.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_SYSTEM, Content: system})
		}
	} else {
		for i := range in.System.Blocks {
			if t := in.System.Blocks[i].Type; t != anthropicwire.BlockText {
				return nil, opts, badRequest("system["+strconv.Itoa(i)+"].type", "system["+strconv.Itoa(i)+"].type: the system prompt takes text blocks only, not "+strconv.Quote(string(t)))
			}
		}
		parts, aerr := messageParts("system", gatewayv1.Role_ROLE_SYSTEM, &in.System)
		if aerr != nil {
			return nil, opts, aerr
		}
		req.Messages = append(req.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_SYSTEM, Parts: parts})
	}
	for i := range in.Messages {
		m := &in.Messages[i]
		field := "messages[" + strconv.Itoa(i) + "]"
		var role gatewayv1.Role
		switch m.Role {
		case anthropicwire.RoleUser:
			role = gatewayv1.Role_ROLE_USER
		case anthropicwire.RoleAssistant:
			role = gatewayv1.Role_ROLE_ASSISTANT
		default:
			return nil, opts, badRequest(field+".role", "unknown role "+strconv.Quote(m.Role)+
				": one of user, assistant (the system prompt is the top-level system field)")
		}
		if !plainText(&m.Content) {
			parts, aerr := messageParts(field+".content", role, &m.Content)
			if aerr != nil {
				return nil, opts, aerr
			}
			req.Messages = append(req.Messages, &gatewayv1.Message{Role: role, Parts: parts})
			continue
		}
		text, aerr := flattenAnthropic(field+".content", &m.Content)
		if aerr != nil {
			return nil, opts, aerr
		}
		if text == "" {
			// Checked here, not left to validation, whose message indexes
			// would count the system prompt.
			return nil, opts, badRequest(field+".content", field+".content: the message must not be empty")
		}
		req.Messages = append(req.Messages, &gatewayv1.Message{Role: role, Content: text})
	}
	req.Params = params(in.MaxTokens, in.Temperature, in.TopP, in.StopSequences, nil)
	var aerr *apiError
	if req.ResponseFormat, aerr = outputFormat(&in); aerr != nil {
		return nil, opts, aerr
	}
	if in.Metadata != nil && in.Metadata.UserID != "" {
		req.Caller = &gatewayv1.Caller{Subject: in.Metadata.UserID}
	}
	return req, opts, nil
}

// outputFormat is the response format of a request's structured-output
// parameter (output_config.format, or the older output_format): a JSON
// schema the answer's text must satisfy. Nil when neither is set; any
// other format type is refused by name.
func outputFormat(in *anthropicwire.MessagesRequest) (*gatewayv1.ResponseFormat, *apiError) {
	field, f := "output_format", in.OutputFormat
	if in.OutputConfig != nil && in.OutputConfig.Format != nil {
		if f != nil {
			return nil, badRequest("output_format", "give output_config.format or output_format, not both")
		}
		field, f = "output_config.format", in.OutputConfig.Format
	}
	if f == nil {
		return nil, nil
	}
	if f.Type != anthropicwire.FormatJSONSchema {
		return nil, badRequest(field+".type", field+".type "+strconv.Quote(f.Type)+
			" is not supported: only "+strconv.Quote(anthropicwire.FormatJSONSchema))
	}
	if s := bytes.TrimSpace(f.Schema); len(s) == 0 || string(s) == "null" {
		return nil, badRequest(field+".schema", field+".schema is required with type "+strconv.Quote(anthropicwire.FormatJSONSchema))
	}
	return &gatewayv1.ResponseFormat{
		Type:   gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
		Schema: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: string(f.Schema)}},
	}, nil
}

// badMethod is the answer to a method an endpoint does not take.
func badMethod(r *http.Request, allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed,
		message: r.Method + " is not allowed on " + r.URL.Path + "; use " + allow}
}
