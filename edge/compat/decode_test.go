package compat

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

const chatBody = `{"model": "career_advice", "user": "user-42", "temperature": 0.7, "max_completion_tokens": 600,
  "top_p": 0.9, "stop": "\n\n", "seed": 7, "stream": true, "stream_options": {"include_usage": true},
  "frequency_penalty": 0.1, "tool_choice": "none", "tools": [],
  "messages": [
    {"role": "developer", "content": "You are a career coach."},
    {"role": "user", "content": [{"type": "text", "text": "I am a QA engineer."}, {"type": "text", "text": "How do I move into data engineering?"}]},
    {"role": "assistant", "content": "Learn SQL first.", "tool_calls": []},
    {"role": "user", "content": "And then?"}
  ]}`

const richChatBody = `{"model": "m", "reasoning_effort": "low", "parallel_tool_calls": false,
  "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
  "tool_choice": {"type": "function", "function": {"name": "f"}},
  "response_format": {"type": "json_schema", "json_schema": {"name": "n", "strict": true, "schema": {"type": "object"}}},
  "messages": [
    {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]}
  ]}`

const messagesBody = `{"model": "claude-3-5-haiku-latest", "max_tokens": 1024, "stream": true, "top_k": 5,
  "system": [{"type": "text", "text": "You are a career coach.", "cache_control": {"type": "ephemeral"}}],
  "metadata": {"user_id": "user-42"}, "stop_sequences": ["END"], "temperature": 0.2, "thinking": {"type": "disabled"},
  "messages": [
    {"role": "user", "content": "I am a QA engineer."},
    {"role": "assistant", "content": [{"type": "text", "text": "Tell me more."}]},
    {"role": "user", "content": "How do I move into data engineering?"}
  ]}`

func TestDecodeChat(t *testing.T) {
	req, opts, aerr := decodeChat([]byte(chatBody))
	if aerr != nil {
		t.Fatal(aerr)
	}
	f, p := 0.7, 0.9
	n, seed := int32(600), int64(7)
	want := &gatewayv1.CompleteRequest{
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "You are a career coach."},
			{Role: gatewayv1.Role_ROLE_USER, Content: "I am a QA engineer.\nHow do I move into data engineering?"},
			{Role: gatewayv1.Role_ROLE_ASSISTANT, Content: "Learn SQL first."},
			{Role: gatewayv1.Role_ROLE_USER, Content: "And then?"},
		},
		Params:     &gatewayv1.GenerationParams{MaxTokens: &n, Temperature: &f, TopP: &p, Stop: []string{"\n\n"}, Seed: &seed},
		Caller:     &gatewayv1.Caller{Subject: "user-42"},
		ToolChoice: &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_NONE},
	}
	if !proto.Equal(req, want) {
		t.Fatalf("got %v\nwant %v", req, want)
	}
	if opts.model != "career_advice" || !opts.stream || !opts.includeUsage || opts.created <= 0 {
		t.Fatalf("options %+v", opts)
	}
}

func TestDecodeMessages(t *testing.T) {
	req, opts, aerr := decodeMessages([]byte(messagesBody))
	if aerr != nil {
		t.Fatal(aerr)
	}
	temp, n := 0.2, int32(1024)
	want := &gatewayv1.CompleteRequest{
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_SYSTEM, Parts: []*gatewayv1.Part{{Kind: &gatewayv1.Part_Text{Text: "You are a career coach."},
				CachePoint: &gatewayv1.PromptCachePoint{}}}},
			{Role: gatewayv1.Role_ROLE_USER, Content: "I am a QA engineer."},
			{Role: gatewayv1.Role_ROLE_ASSISTANT, Content: "Tell me more."},
			{Role: gatewayv1.Role_ROLE_USER, Content: "How do I move into data engineering?"},
		},
		Params: &gatewayv1.GenerationParams{MaxTokens: &n, Temperature: &temp, Stop: []string{"END"}},
		Caller: &gatewayv1.Caller{Subject: "user-42"},
	}
	if !proto.Equal(req, want) {
		t.Fatalf("got %v\nwant %v", req, want)
	}
	if opts.model != "claude-3-5-haiku-latest" || !opts.stream {
		t.Fatalf("options %+v", opts)
	}
}

func TestDecodeClampsIntegers(t *testing.T) {
	req, _, aerr := decodeChat([]byte(`{"model":"m","max_tokens":99999999999,"messages":[{"role":"user","content":"x"}]}`))
	if aerr != nil || req.GetParams().GetMaxTokens() != 2147483647 {
		t.Fatalf("%v %v", req, aerr)
	}
}

func TestFromError(t *testing.T) {
	st, _ := status.New(codes.ResourceExhausted, "quota exceeded").WithDetails(
		&errdetails.ErrorInfo{Reason: "QUOTA_EXCEEDED", Metadata: map[string]string{"kind": "tokens_per_minute"}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
	e := fromError(st.Err(), nil)
	if e.status != http.StatusTooManyRequests || e.openAIErrorType() != "tokens" || e.code != "rate_limit_exceeded" ||
		e.retryAfter != "2" || anthropicErrorType(e.status) != "rate_limit_error" {
		t.Fatalf("%+v", e)
	}
	// The quota interceptor's own Retry-After header wins.
	if e := fromError(st.Err(), metadata.Pairs("retry-after", "30")); e.retryAfter != "30" {
		t.Fatalf("%+v", e)
	}
	st, _ = status.New(codes.InvalidArgument, "unknown route").WithDetails(&errdetails.ErrorInfo{Reason: "UNKNOWN_ROUTE"})
	if e := fromError(st.Err(), nil); e.status != http.StatusNotFound || e.code != "model_not_found" || e.param != "model" {
		t.Fatalf("%+v", e)
	}
	for code, want := range map[codes.Code][2]string{
		codes.InvalidArgument:  {"invalid_request_error", "invalid_request_error"},
		codes.Unauthenticated:  {"invalid_request_error", "authentication_error"},
		codes.PermissionDenied: {"invalid_request_error", "permission_error"},
		codes.Unavailable:      {"server_error", "overloaded_error"},
		codes.DeadlineExceeded: {"server_error", "timeout_error"},
		codes.Internal:         {"server_error", "api_error"},
	} {
		e := fromError(status.Error(code, "x"), nil)
		if got := [2]string{e.openAIErrorType(), anthropicErrorType(e.status)}; got != want {
			t.Errorf("%v: %v, want %v", code, got, want)
		}
	}
}

func TestErrorBodies(t *testing.T) {
	e := &apiError{status: 400, message: `bad "x"`, param: "messages[0].content"}
	var v struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(appendOpenAIError(nil, e), &v); err != nil || v.Error.Message != `bad "x"` ||
		v.Error.Type != "invalid_request_error" || *v.Error.Param != "messages[0].content" || v.Error.Code != nil {
		t.Fatalf("%s %v", appendOpenAIError(nil, e), err)
	}
	if got := string(appendAnthropicError(nil, e)); got != `{"type":"error","error":{"type":"invalid_request_error","message":"bad \"x\""}}` {
		t.Fatal(got)
	}
}

// FuzzDecode feeds arbitrary bodies to both decoders: they must never
// panic, and whatever they accept must be a well-formed gateway request
// with one message per input message (plus Anthropic's system prompt).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{chatBody, richChatBody, messagesBody, `{}`, `null`, `[]`, `{"messages":[{"content":null}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text"}]}],"stop":["a","b"]}`, `{"system":5}`, `{"max_tokens":-1e30}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var shape struct {
			Messages []json.RawMessage `json:"messages"`
		}
		known := json.Unmarshal(body, &shape) == nil
		if req, _, aerr := decodeChat(body); aerr == nil {
			if known && len(req.GetMessages()) != len(shape.Messages) {
				t.Fatalf("chat: %d messages from %d", len(req.GetMessages()), len(shape.Messages))
			}
			checkRequest(t, req)
		} else if aerr.status != http.StatusBadRequest || aerr.message == "" {
			t.Fatalf("chat error %+v", aerr)
		}
		if req, _, aerr := decodeMessages(body); aerr == nil {
			if n := len(req.GetMessages()); known && n != len(shape.Messages) && n != len(shape.Messages)+1 {
				t.Fatalf("messages: %d messages from %d", n, len(shape.Messages))
			}
			checkRequest(t, req)
		} else if aerr.status != http.StatusBadRequest || aerr.message == "" {
			t.Fatalf("messages error %+v", aerr)
		}
	})
}

func checkRequest(t *testing.T, req *gatewayv1.CompleteRequest) {
	t.Helper()
	for _, m := range req.GetMessages() {
		if m.GetRole() == gatewayv1.Role_ROLE_UNSPECIFIED {
			t.Fatalf("message without a role: %v", req)
		}
	}
	if _, err := proto.Marshal(req); err != nil {
		t.Fatalf("not a valid message: %v", err)
	}
	if req.GetRoute() != "" || req.GetModel() != nil {
		t.Fatalf("target set by the decoder: %v", req)
	}
}

func TestDecodeChatRich(t *testing.T) {
	req, _, aerr := decodeChat([]byte(richChatBody))
	if aerr != nil {
		t.Fatal(aerr)
	}
	no := false
	schema := func(s string) *gatewayv1.JsonSchema {
		return &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: s}}
	}
	want := &gatewayv1.CompleteRequest{
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_USER, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_Text{Text: "Hi"}},
				{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "https://example.com/a.png"}}}},
			}},
			{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: "c1", Name: "f", Arguments: "{}"}}},
			}},
			{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{ToolCallId: "c1", Content: "42"}}},
			}},
		},
		Tools:             []*gatewayv1.Tool{{Name: "f", Parameters: schema(`{"type": "object"}`)}},
		ToolChoice:        &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: "f"},
		ParallelToolCalls: &no,
		ResponseFormat: &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: "n", Strict: true, Schema: schema(`{"type": "object"}`)},
		Reasoning: &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW},
	}
	if !proto.Equal(req, want) {
		t.Fatalf("got %v\nwant %v", req, want)
	}
}
