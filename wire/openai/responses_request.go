package openai

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// ResponseRequest is a Responses API request body (POST /v1/responses).
// Optional scalars are pointers so that "not set" stays apart from zero.
// The stateful and hosted features the gateway refuses are kept as raw
// JSON, so that a decoded request still says whether the caller used
// them (see wirejson.InUse). Decode it with [DecodeResponseRequest],
// which refuses unknown fields as the API does.
type ResponseRequest struct {
	Model string `json:"model"`
	// Input is the conversation: a string (one user message) or items.
	Input ResponseInput `json:"input"`
	// Instructions is a system message put before the input.
	Instructions      string              `json:"instructions,omitempty"`
	Tools             ResponseTools       `json:"tools,omitempty"`
	ToolChoice        *ResponseToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool               `json:"parallel_tool_calls,omitempty"`
	Text              *TextConfig         `json:"text,omitempty"`
	MaxOutputTokens   *int64              `json:"max_output_tokens,omitempty"`
	Temperature       *float64            `json:"temperature,omitempty"`
	TopP              *float64            `json:"top_p,omitempty"`
	Reasoning         *ReasoningConfig    `json:"reasoning,omitempty"`
	// Metadata is up to 16 key-value pairs echoed in the response.
	Metadata      map[string]string      `json:"metadata,omitempty"`
	Stream        bool                   `json:"stream,omitempty"`
	StreamOptions *ResponseStreamOptions `json:"stream_options,omitempty"`
	// Store asks the API to keep the response for later retrieval; the
	// API's default is true.
	Store      *bool `json:"store,omitempty"`
	Background *bool `json:"background,omitempty"`
	// User is the older end-user identifier; SafetyIdentifier replaces it.
	User             string `json:"user,omitempty"`
	SafetyIdentifier string `json:"safety_identifier,omitempty"`
	// PromptCacheKey is a routing hint for the vendor's prompt cache.
	PromptCacheKey string   `json:"prompt_cache_key,omitempty"`
	ServiceTier    string   `json:"service_tier,omitempty"`
	Truncation     string   `json:"truncation,omitempty"`
	TopLogprobs    *int64   `json:"top_logprobs,omitempty"`
	Include        []string `json:"include,omitempty"`

	PreviousResponseID   json.RawMessage `json:"previous_response_id,omitempty"`
	Conversation         json.RawMessage `json:"conversation,omitempty"`
	Prompt               json.RawMessage `json:"prompt,omitempty"`
	PromptCacheRetention json.RawMessage `json:"prompt_cache_retention,omitempty"`
	PromptCacheOptions   json.RawMessage `json:"prompt_cache_options,omitempty"`
	ContextManagement    json.RawMessage `json:"context_management,omitempty"`
	Moderation           json.RawMessage `json:"moderation,omitempty"`
	MaxToolCalls         json.RawMessage `json:"max_tool_calls,omitempty"`
}

// ResponseStreamOptions are the options of a streamed response.
type ResponseStreamOptions struct {
	// IncludeObfuscation asks for padding fields on delta events.
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// TextConfig is the form of a response's text.
type TextConfig struct {
	Format    *TextFormat `json:"format,omitempty"`
	Verbosity string      `json:"verbosity,omitempty"`
}

// TextFormat is text, any JSON object, or JSON matching a named schema
// (Type is [FormatText], [FormatJSONObject] or [FormatJSONSchema]). Unlike
// Chat Completions' response_format, the schema's fields sit beside the
// type.
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ReasoningConfig tunes reasoning models.
type ReasoningConfig struct {
	// Effort is minimal, low, medium or high (newer models add others).
	Effort string `json:"effort,omitempty"`
	// Summary asks for a summary of the reasoning; GenerateSummary is its
	// older name.
	Summary         string `json:"summary,omitempty"`
	GenerateSummary string `json:"generate_summary,omitempty"`
}

// The input item types.
const (
	ItemMessage            = "message"
	ItemFunctionCall       = "function_call"
	ItemFunctionCallOutput = "function_call_output"
)

// The content part types of the Responses API.
const (
	PartInputText  = "input_text"
	PartInputImage = "input_image"
	PartInputFile  = "input_file"
	PartOutputText = "output_text"
	PartRefusal    = "refusal"
)

// ResponseInput is a request's input: a string, or an array of items.
// Items is non-nil exactly when it was an array.
type ResponseInput struct {
	Text  string
	Items []InputItem
}

// ErrInput is the decoding error of an input that is neither a string nor
// an array.
var ErrInput = errors.New("input must be a string or an array of input items")

// UnmarshalJSON implements json.Unmarshaler; each item is decoded
// strictly, an unknown field refused as a [FieldError] naming it.
func (in *ResponseInput) UnmarshalJSON(data []byte) error {
	*in = ResponseInput{}
	if len(data) == 0 || data[0] != '[' {
		var none []json.RawMessage
		return wirejson.UnmarshalStringOrArray(data, &in.Text, &none, ErrInput)
	}
	in.Items = []InputItem{}
	return arrayElems(data, func(i int, elem []byte) error {
		in.Items = append(in.Items, InputItem{})
		return withField(in.Items[i].UnmarshalJSON(elem), "input["+strconv.Itoa(i)+"]")
	})
}

// MarshalJSON implements json.Marshaler.
func (in ResponseInput) MarshalJSON() ([]byte, error) {
	if in.Items != nil {
		return wirejson.Marshal(nil, in.Items)
	}
	return wirejson.AppendString(nil, in.Text), nil
}

// InputItem is one item of an input array: a message (Type "message" or
// empty, with a role), a function call the model made (call_id, name,
// arguments) or a function call's output (call_id, output). Type says
// which fields apply. ID, Status, a message's Phase and the SDK's
// ParsedArguments are what an answer's output item carries when sent
// back; they are read and not used.
type InputItem struct {
	Type    string        `json:"type,omitempty"`
	ID      string        `json:"id,omitempty"`
	Status  string        `json:"status,omitempty"`
	Role    string        `json:"role,omitempty"`
	Content *InputContent `json:"content,omitempty"`
	Phase   string        `json:"phase,omitempty"`
	// CallID, Name and Arguments are a function call's.
	CallID    string `json:"call_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	// Output is a function call output's: a string or content parts.
	Output          *InputContent   `json:"output,omitempty"`
	ParsedArguments json.RawMessage `json:"parsed_arguments,omitempty"`
}

// inputItem is InputItem without its methods.
type inputItem InputItem

// UnmarshalJSON implements json.Unmarshaler: strictly, naming an unknown
// field of the content or output with its path.
func (it *InputItem) UnmarshalJSON(data []byte) error {
	var w struct {
		inputItem
		Content json.RawMessage `json:"content,omitempty"`
		Output  json.RawMessage `json:"output,omitempty"`
	}
	if err := DecodeStrict(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) { // named as a field of the item, not of the embedded type
			return &TypeError{Field: strings.TrimPrefix(te.Field, "inputItem."), Value: te.Value}
		}
		return err
	}
	*it = InputItem(w.inputItem)
	var err error
	if it.Content, err = decodeContent(w.Content, "content"); err != nil {
		return err
	}
	it.Output, err = decodeContent(w.Output, "output")
	return err
}

// decodeContent decodes a content or output field; nil when absent or
// null.
func decodeContent(raw json.RawMessage, field string) (*InputContent, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	c := new(InputContent)
	if err := c.UnmarshalJSON(raw); err != nil {
		return nil, withField(err, field)
	}
	return c, nil
}

// InputContent is a message's content or a call's output: a string, or
// an array of parts. Parts is non-nil exactly when it was an array.
type InputContent struct {
	Text  string
	Parts []InputPart
}

// ErrInputContent is the decoding error of a content that is neither a
// string nor an array.
var ErrInputContent = errors.New("content must be a string or an array of content parts")

// UnmarshalJSON implements json.Unmarshaler; parts are decoded strictly.
func (c *InputContent) UnmarshalJSON(data []byte) error {
	*c = InputContent{}
	if len(data) == 0 || data[0] != '[' {
		var none []json.RawMessage
		return wirejson.UnmarshalStringOrArray(data, &c.Text, &none, ErrInputContent)
	}
	c.Parts = []InputPart{}
	return arrayElems(data, func(i int, elem []byte) error {
		c.Parts = append(c.Parts, InputPart{})
		return withField(DecodeStrict(elem, &c.Parts[i]), "["+strconv.Itoa(i)+"]")
	})
}

// MarshalJSON implements json.Marshaler.
func (c InputContent) MarshalJSON() ([]byte, error) {
	if c.Parts != nil {
		return wirejson.Marshal(nil, c.Parts)
	}
	return wirejson.AppendString(nil, c.Text), nil
}

// InputPart is one content part: input_text and output_text (Text),
// refusal (Refusal), input_image (ImageURL or FileID, Detail) or
// input_file. Annotations, Logprobs and the SDK's Parsed come back with
// an answer's output_text; they are read and not used.
type InputPart struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	Refusal     string          `json:"refusal,omitempty"`
	ImageURL    string          `json:"image_url,omitempty"`
	FileID      string          `json:"file_id,omitempty"`
	Detail      string          `json:"detail,omitempty"`
	FileData    string          `json:"file_data,omitempty"`
	FileURL     string          `json:"file_url,omitempty"`
	Filename    string          `json:"filename,omitempty"`
	Annotations json.RawMessage `json:"annotations,omitempty"`
	Logprobs    json.RawMessage `json:"logprobs,omitempty"`
	Parsed      json.RawMessage `json:"parsed,omitempty"`
}

// ResponseTools is a request's tools.
type ResponseTools []ResponseTool

// UnmarshalJSON implements json.Unmarshaler, naming an unknown field of a
// tool with its path.
func (ts *ResponseTools) UnmarshalJSON(data []byte) error {
	if len(data) == 0 || data[0] != '[' {
		var none []json.RawMessage // null, or the type error of anything else
		*ts = nil
		return json.Unmarshal(data, &none)
	}
	*ts = ResponseTools{}
	return arrayElems(data, func(i int, elem []byte) error {
		*ts = append(*ts, ResponseTool{})
		return withField((*ts)[i].UnmarshalJSON(elem), "tools["+strconv.Itoa(i)+"]")
	})
}

// ResponseTool is one element of a request's tools. A function tool
// (Type [ToolTypeFunction]) has its declaration's fields beside the type;
// any other type is a hosted tool, kept whole in Hosted.
type ResponseTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// Hosted is a hosted tool's JSON (web_search, file_search, mcp …).
	Hosted json.RawMessage `json:"-"`
}

// responseTool is ResponseTool without its methods.
type responseTool ResponseTool

// UnmarshalJSON implements json.Unmarshaler.
func (t *ResponseTool) UnmarshalJSON(data []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	if head.Type != ToolTypeFunction {
		*t = ResponseTool{Type: head.Type, Hosted: append(json.RawMessage(nil), data...)}
		return nil
	}
	var f responseTool
	if err := DecodeStrict(data, &f); err != nil {
		return err
	}
	*t = ResponseTool(f)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t ResponseTool) MarshalJSON() ([]byte, error) {
	if t.Hosted != nil {
		return t.Hosted, nil
	}
	return wirejson.Marshal(nil, responseTool(t))
}

// ResponseToolChoice is tool_choice: a mode ("auto", "none", "required")
// or an object: {"type":"function","name":…} forces one function; other
// object types (hosted tools, allowed_tools, mcp) keep their type only.
type ResponseToolChoice struct {
	Mode string
	Type string
	Name string
}

// ErrToolChoice is the decoding error of a tool_choice object without a
// type.
var ErrToolChoice = errors.New("tool_choice must be auto, none, required or an object with a type")

// UnmarshalJSON implements json.Unmarshaler.
func (c *ResponseToolChoice) UnmarshalJSON(data []byte) error {
	*c = ResponseToolChoice{}
	if data[0] == '"' {
		return json.Unmarshal(data, &c.Mode)
	}
	var obj struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	if obj.Type == "" {
		return ErrToolChoice
	}
	if obj.Type == ToolTypeFunction {
		if err := DecodeStrict(data, &obj); err != nil {
			return withField(err, "tool_choice")
		}
	}
	c.Type, c.Name = obj.Type, obj.Name
	return nil
}

// MarshalJSON implements json.Marshaler.
func (c ResponseToolChoice) MarshalJSON() ([]byte, error) {
	if c.Type == "" {
		return wirejson.AppendString(nil, c.Mode), nil
	}
	b := append([]byte(`{"type":`), wirejson.AppendString(nil, c.Type)...)
	if c.Type == ToolTypeFunction || c.Name != "" {
		b = append(b, `,"name":`...)
		b = wirejson.AppendString(b, c.Name)
	}
	return append(b, '}'), nil
}

// FieldError is a field the API does not know, with its path in the
// request, e.g. "input[2].foo".
type FieldError struct {
	Field string
}

func (e *FieldError) Error() string { return "unknown field " + strconv.Quote(e.Field) }

// withField prefixes the field path of err, an unknown field or a value
// of the wrong type, with parent.
func withField(err error, parent string) error {
	join := func(f string) string {
		switch {
		case f == "":
			return parent
		case strings.HasPrefix(f, "["):
			return parent + f
		}
		return parent + "." + f
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: join(fe.Field)}
	}
	var pe *TypeError
	if errors.As(err, &pe) {
		return &TypeError{Field: join(pe.Field), Value: pe.Value}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &TypeError{Field: join(te.Field), Value: te.Value}
	}
	return err
}

// TypeError is a value of the wrong JSON type inside a request, with its
// path, e.g. "input[0].role". Unlike encoding/json's own error, the outer
// decoders leave its path alone.
type TypeError struct {
	Field string
	// Value is the JSON type found: "number", "string", "bool" …
	Value string
}

func (e *TypeError) Error() string {
	return "the field " + strconv.Quote(e.Field) + " must not be a JSON " + e.Value + " here"
}

// DecodeResponseRequest decodes a request body strictly.
//
// The input, which holds nearly all of a long conversation's bytes, is
// decoded in the same pass as the rest (as generic JSON, then checked and
// converted), not handed to [ResponseInput.UnmarshalJSON], whose nested
// decoders would scan each message's text again at every level.
func DecodeResponseRequest(body []byte, r *ResponseRequest) error {
	var w struct {
		responseRequest
		Input any `json:"input"`
	}
	if err := DecodeStrict(body, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) { // named as a field of the request, not of the embedded type
			return &TypeError{Field: strings.TrimPrefix(te.Field, "responseRequest."), Value: te.Value}
		}
		return err
	}
	*r = ResponseRequest(w.responseRequest)
	var err error
	r.Input, err = inputFromAny(w.Input)
	return err
}

// responseRequest is ResponseRequest without its methods.
type responseRequest ResponseRequest

// UnmarshalJSON implements json.Unmarshaler: strictly, naming an unknown
// field with its path under "text".
func (t *TextConfig) UnmarshalJSON(data []byte) error {
	var w struct {
		Format    json.RawMessage `json:"format,omitempty"`
		Verbosity string          `json:"verbosity,omitempty"`
	}
	if err := DecodeStrict(data, &w); err != nil {
		return withField(err, "text")
	}
	*t = TextConfig{Verbosity: w.Verbosity}
	if len(w.Format) == 0 || string(w.Format) == "null" {
		return nil
	}
	t.Format = new(TextFormat)
	return withField(DecodeStrict(w.Format, t.Format), "text.format")
}

// reasoningConfig is ReasoningConfig without its methods.
type reasoningConfig ReasoningConfig

// UnmarshalJSON implements json.Unmarshaler: strictly, naming an unknown
// field with its path under "reasoning".
func (r *ReasoningConfig) UnmarshalJSON(data []byte) error {
	return withField(DecodeStrict(data, (*reasoningConfig)(r)), "reasoning")
}

// responseStreamOptions is ResponseStreamOptions without its methods.
type responseStreamOptions ResponseStreamOptions

// UnmarshalJSON implements json.Unmarshaler: strictly, naming an unknown
// field with its path under "stream_options".
func (o *ResponseStreamOptions) UnmarshalJSON(data []byte) error {
	return withField(DecodeStrict(data, (*responseStreamOptions)(o)), "stream_options")
}
