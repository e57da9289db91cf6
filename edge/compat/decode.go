package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
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
}

// content is a message's content: a string, or an array of typed parts
// (OpenAI's content parts, Anthropic's content blocks) of which only text
// is supported.
type content struct {
	text  string
	parts []contentPart
	multi bool
}

// contentPart is one part of an array content; fields of other part
// types are not decoded.
type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// errContent is a content that is neither a string nor an array.
var errContent = errors.New("content must be a string or an array of content parts")

// UnmarshalJSON implements json.Unmarshaler.
func (c *content) UnmarshalJSON(b []byte) error {
	switch b[0] { // encoding/json never passes an empty value
	case '"':
		return json.Unmarshal(b, &c.text)
	case 'n':
		return nil
	case '[':
		c.multi = true
		return json.Unmarshal(b, &c.parts)
	}
	return errContent
}

// flatten returns the text of c; an array's text parts are joined with
// newlines. Any other part type is refused, naming field.
func (c *content) flatten(field string) (string, *apiError) {
	if !c.multi {
		return c.text, nil
	}
	for j, p := range c.parts {
		if p.Type != "text" {
			return "", badRequest(field+"["+strconv.Itoa(j)+"].type",
				"content of type "+strconv.Quote(p.Type)+" is not supported: the gateway answers text only")
		}
	}
	if len(c.parts) == 1 {
		return c.parts[0].Text, nil
	}
	var b strings.Builder
	for j, p := range c.parts {
		if j > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// stringList is OpenAI's stop: one string or an array of strings.
type stringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *stringList) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	case 'n':
		*s = nil
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// unsupported marks a request feature the gateway does not implement
// (tools, audio …): any value but null, false, "" or an empty array or
// object means the caller uses it.
type unsupported bool

// UnmarshalJSON implements json.Unmarshaler.
func (u *unsupported) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "null", "false", `""`:
		*u = false
		return nil
	}
	empty := len(b) >= 2 && (b[0] == '[' || b[0] == '{') && len(bytes.TrimSpace(b[1:len(b)-1])) == 0
	*u = unsupported(!empty)
	return nil
}

// decodeError turns encoding/json's error into a message for the caller,
// naming the field and the expected type without Go type names.
func decodeError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("", "the request body is not valid JSON (at byte "+strconv.FormatInt(se.Offset, 10)+"): "+se.Error())
	case errors.As(err, &te):
		field := te.Field
		return badRequest(field, "the request body's field "+strconv.Quote(field)+" must not be a JSON "+te.Value+" here")
	case errors.Is(err, errContent):
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

// chatRequest is the part of OpenAI's chat completion request the
// gateway reads. Fields it does not know are ignored, as OpenAI's own
// optional tuning fields (penalties, logit_bias, store, metadata,
// service_tier, reasoning_effort …) are; features it cannot honour are
// refused.
type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int64     `json:"max_tokens"`
	MaxCompletionTokens *int64     `json:"max_completion_tokens"`
	Temperature         *float64   `json:"temperature"`
	TopP                *float64   `json:"top_p"`
	Stop                stringList `json:"stop"`
	Seed                *int64     `json:"seed"`
	User                string     `json:"user"`
	SafetyIdentifier    string     `json:"safety_identifier"`
	N                   *int64     `json:"n"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	Modalities       []string    `json:"modalities"`
	Logprobs         unsupported `json:"logprobs"`
	Tools            unsupported `json:"tools"`
	Functions        unsupported `json:"functions"`
	Audio            unsupported `json:"audio"`
	WebSearchOptions unsupported `json:"web_search_options"`
}

// chatMessage is one message of a chat completion request.
type chatMessage struct {
	Role         string      `json:"role"`
	Content      content     `json:"content"`
	ToolCalls    unsupported `json:"tool_calls"`
	FunctionCall unsupported `json:"function_call"`
}

// decodeChat translates an OpenAI chat completion request body into a
// gateway request. The model field is left for the caller to resolve.
func decodeChat(body []byte) (*gatewayv1.CompleteRequest, streamOptions, *apiError) {
	var in chatRequest
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
	case bool(in.Tools) || bool(in.Functions):
		return nil, opts, badRequest("tools", "tools and functions are not supported: the gateway answers text only")
	case in.ResponseFormat != nil && in.ResponseFormat.Type != "" && in.ResponseFormat.Type != "text":
		return nil, opts, badRequest("response_format", "response_format "+strconv.Quote(in.ResponseFormat.Type)+
			" is not supported: only text")
	case bool(in.Logprobs):
		return nil, opts, badRequest("logprobs", "logprobs are not supported")
	case bool(in.Audio):
		return nil, opts, badRequest("audio", "audio output is not supported: the gateway answers text only")
	case bool(in.WebSearchOptions):
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
		case "system", "developer":
			role = gatewayv1.Role_ROLE_SYSTEM
		case "user":
			role = gatewayv1.Role_ROLE_USER
		case "assistant":
			role = gatewayv1.Role_ROLE_ASSISTANT
		case "tool", "function":
			return nil, opts, badRequest(field+".role", "messages with role "+strconv.Quote(m.Role)+
				" are not supported: the gateway answers text only, without tools")
		default:
			return nil, opts, badRequest(field+".role", "unknown role "+strconv.Quote(m.Role)+
				": one of system, developer, user, assistant")
		}
		if m.ToolCalls || m.FunctionCall {
			return nil, opts, badRequest(field+".tool_calls", "tool calls are not supported: the gateway answers text only")
		}
		text, aerr := m.Content.flatten(field + ".content")
		if aerr != nil {
			return nil, opts, aerr
		}
		req.Messages[i] = &gatewayv1.Message{Role: role, Content: text}
	}
	maxTokens := in.MaxCompletionTokens
	if maxTokens == nil {
		maxTokens = in.MaxTokens
	}
	req.Params = params(maxTokens, in.Temperature, in.TopP, in.Stop, in.Seed)
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

// messagesRequest is the part of Anthropic's Messages request the gateway
// reads. Unknown fields and top_k are ignored; tools, extended thinking
// and non-text content are refused.
type messagesRequest struct {
	Model         string             `json:"model"`
	Messages      []anthropicMessage `json:"messages"`
	System        content            `json:"system"`
	MaxTokens     *int64             `json:"max_tokens"`
	Temperature   *float64           `json:"temperature"`
	TopP          *float64           `json:"top_p"`
	StopSequences []string           `json:"stop_sequences"`
	Stream        bool               `json:"stream"`
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata"`
	Tools      unsupported `json:"tools"`
	MCPServers unsupported `json:"mcp_servers"`
	Thinking   *struct {
		Type string `json:"type"`
	} `json:"thinking"`
}

// anthropicMessage is one message of a Messages request.
type anthropicMessage struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// decodeMessages translates an Anthropic Messages request body into a
// gateway request: the system prompt (a string or text blocks) becomes a
// leading system message. The model field is left for the caller to
// resolve.
func decodeMessages(body []byte) (*gatewayv1.CompleteRequest, streamOptions, *apiError) {
	var in messagesRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, streamOptions{}, decodeError(err)
	}
	opts := streamOptions{model: in.Model, stream: in.Stream, created: now()}
	switch {
	case bool(in.Tools) || bool(in.MCPServers):
		return nil, opts, badRequest("tools", "tools are not supported: the gateway answers text only")
	case in.Thinking != nil && in.Thinking.Type != "" && in.Thinking.Type != "disabled":
		return nil, opts, badRequest("thinking", "extended thinking is not supported")
	}
	system, aerr := in.System.flatten("system")
	if aerr != nil {
		return nil, opts, aerr
	}
	n := len(in.Messages)
	if system != "" {
		n++
	}
	req := &gatewayv1.CompleteRequest{Messages: make([]*gatewayv1.Message, 0, n)}
	if system != "" {
		req.Messages = append(req.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_SYSTEM, Content: system})
	}
	for i := range in.Messages {
		m := &in.Messages[i]
		field := "messages[" + strconv.Itoa(i) + "]"
		var role gatewayv1.Role
		switch m.Role {
		case "user":
			role = gatewayv1.Role_ROLE_USER
		case "assistant":
			role = gatewayv1.Role_ROLE_ASSISTANT
		default:
			return nil, opts, badRequest(field+".role", "unknown role "+strconv.Quote(m.Role)+
				": one of user, assistant (the system prompt is the top-level system field)")
		}
		text, aerr := m.Content.flatten(field + ".content")
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
	if in.Metadata != nil && in.Metadata.UserID != "" {
		req.Caller = &gatewayv1.Caller{Subject: in.Metadata.UserID}
	}
	return req, opts, nil
}

// badMethod is the answer to a method an endpoint does not take.
func badMethod(r *http.Request, allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed,
		message: r.Method + " is not allowed on " + r.URL.Path + "; use " + allow}
}
