package gemini_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/gemini"
)

// fake is a Gemini endpoint serving one canned reply and recording what
// it was sent.
type fake struct {
	mu     sync.Mutex
	status int
	ctype  string
	reply  string
	body   []byte
	path   string
	header http.Header
}

func newFake(t *testing.T, status int, ctype, reply string) (*fake, *httptest.Server) {
	f := &fake{status: status, ctype: ctype, reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.body, f.path, f.header = b, r.URL.RequestURI(), r.Header.Clone()
		f.mu.Unlock()
		w.Header().Set("Content-Type", f.ctype)
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.reply)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func newProvider(t *testing.T, base, options string) *gemini.Provider {
	t.Helper()
	s := providers.Settings{Name: "g", BaseURL: base + "/v1beta", APIKey: "AIzaSyTEST-key_0123456789abcdefghijklmnop"}
	if options != "" {
		s.Options = json.RawMessage(options)
	}
	p, err := gemini.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("sent body is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		t.Errorf("sent\n%s\nwant\n%s", gb, want)
	}
}

const okReply = `{"candidates":[{"content":{"role":"model","parts":[{"text":"{\"role\":\"data engineer\"}"}]},"finishReason":"STOP","index":0}],` +
	`"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},"modelVersion":"gemini-2.5-pro","responseId":"r1"}`

// TestRequestTranslation checks the body of a request using every feature
// the backend honours.
func TestRequestTranslation(t *testing.T) {
	f, srv := newFake(t, 200, "application/json", okReply)
	p := newProvider(t, srv.URL, "")
	temp := 0.2
	synthetic := gemini.SyntheticID(0, "lookup_role", []byte(`{"title":"data engineer"}`))
	req := &providers.Request{
		Model: "gemini-2.5-pro",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You are a career coach."},
			{Role: providers.RoleUser, Parts: []providers.Part{
				providers.TextPart("What is this chart?"),
				{Kind: providers.PartImage, Image: &providers.Image{Data: []byte("PNG"), MediaType: "image/png"}},
				{Kind: providers.PartImage, Image: &providers.Image{URL: "data:image/jpeg;base64,SlBH"}},
			}},
			{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Signature: "c2ln"}},
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: synthetic, Name: "lookup_role", Arguments: `{"title":"data engineer"}`}},
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "vendor-id-2", Name: "salary", Arguments: ``}},
			}},
			{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: synthetic, Content: `{"skills":["sql"]}`}},
			}},
			{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "vendor-id-2", Content: "no data", IsError: true}},
			}},
		},
		MaxTokens:      512,
		Temperature:    &temp,
		Stop:           []string{"END"},
		Tools:          []providers.Tool{{Name: "lookup_role", Description: "Looks a role up.", Parameters: json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"}}}`)}},
		ToolChoice:     providers.ToolChoice{Mode: providers.ToolChoiceTool, Name: "lookup_role"},
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object","required":["role"]}`)},
		Reasoning:      providers.Reasoning{BudgetTokens: 1024},
	}
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if f.path != "/v1beta/models/gemini-2.5-pro:generateContent" {
		t.Errorf("path %q", f.path)
	}
	if f.header.Get("X-Goog-Api-Key") == "" || f.header.Get("Authorization") != "" {
		t.Errorf("auth headers %v", f.header)
	}
	sameJSON(t, f.body, `{
	  "systemInstruction": {"parts": [{"text": "You are a career coach."}]},
	  "contents": [
	    {"role": "user", "parts": [{"text": "What is this chart?"}, {"inlineData": {"mimeType": "image/png", "data": "UE5H"}}, {"inlineData": {"mimeType": "image/jpeg", "data": "SlBH"}}]},
	    {"role": "model", "parts": [
	      {"functionCall": {"name": "lookup_role", "args": {"title": "data engineer"}}, "thoughtSignature": "c2ln"},
	      {"functionCall": {"id": "vendor-id-2", "name": "salary", "args": {}}}
	    ]},
	    {"role": "user", "parts": [
	      {"functionResponse": {"name": "lookup_role", "response": {"skills": ["sql"]}}},
	      {"functionResponse": {"id": "vendor-id-2", "name": "salary", "response": {"error": "no data"}}}
	    ]}
	  ],
	  "tools": [{"functionDeclarations": [{"name": "lookup_role", "description": "Looks a role up.", "parametersJsonSchema": {"type": "object", "properties": {"title": {"type": "string"}}}}]}],
	  "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup_role"]}},
	  "generationConfig": {
	    "stopSequences": ["END"], "maxOutputTokens": 512, "temperature": 0.2,
	    "responseMimeType": "application/json", "responseJsonSchema": {"type": "object", "required": ["role"]},
	    "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}
	  }
	}`)
}

// TestToolCallAnswer checks a function call answered without an id: it
// gets a deterministic id, its signature is kept, and both go back to the
// API as they came.
func TestToolCallAnswer(t *testing.T) {
	reply := `{"candidates":[{"content":{"role":"model","parts":[` +
		`{"functionCall":{"name":"lookup_role","args":{"title":"data engineer"}},"thoughtSignature":"c2ln"}]},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":50,"candidatesTokenCount":9,"thoughtsTokenCount":30},"modelVersion":"gemini-2.5-flash","responseId":"r2"}`
	f, srv := newFake(t, 200, "application/json", reply)
	p := newProvider(t, srv.URL, "")
	req := &providers.Request{Model: "gemini-2.5-flash",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "Look up data engineer."}},
		Tools:    []providers.Tool{{Name: "lookup_role", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	got, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	id := gemini.SyntheticID(0, "lookup_role", []byte(`{"title":"data engineer"}`))
	want := []providers.Part{
		{Kind: providers.PartThinking, Thinking: &providers.Thinking{Signature: "c2ln"}},
		{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: id, Name: "lookup_role", Arguments: `{"title":"data engineer"}`}},
	}
	if !reflect.DeepEqual(got.PartList(), want) {
		t.Errorf("parts %+v", got.PartList())
	}
	if got.FinishReason != providers.FinishToolCalls || got.Usage != (providers.Usage{InputTokens: 50, OutputTokens: 39, ReasoningTokens: 30}) {
		t.Errorf("answer %+v", got)
	}
	again, err := p.Complete(context.Background(), req)
	if err != nil || again.PartList()[1].ToolCall.ID != id {
		t.Fatalf("the id is not stable: %v %+v", err, again)
	}

	// The next turn carries the call and its result back.
	req.Messages = append(req.Messages,
		providers.Message{Role: providers.RoleAssistant, Parts: got.PartList()},
		providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: id, Content: "SQL, Python"}}}})
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, f.body, `{
	  "contents": [
	    {"role": "user", "parts": [{"text": "Look up data engineer."}]},
	    {"role": "model", "parts": [{"functionCall": {"name": "lookup_role", "args": {"title": "data engineer"}}, "thoughtSignature": "c2ln"}]},
	    {"role": "user", "parts": [{"functionResponse": {"name": "lookup_role", "response": {"result": "SQL, Python"}}}]}
	  ],
	  "tools": [{"functionDeclarations": [{"name": "lookup_role", "parametersJsonSchema": {"type": "object"}}]}]
	}`)
}

// TestStreamToolCall checks thinking, text and a call in a stream.
func TestStreamToolCall(t *testing.T) {
	reply := `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Weighing roles.","thought":true}]},"index":0}],"responseId":"s1","modelVersion":"gemini-2.5-flash"}` + "\n\n" +
		`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Checking."},{"functionCall":{"id":"fc-1","name":"lookup_role","args":{"title":"x"}}}]},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":8,"thoughtsTokenCount":4},"responseId":"s1","modelVersion":"gemini-2.5-flash"}` + "\n\n"
	f, srv := newFake(t, 200, "text/event-stream", reply)
	p := newProvider(t, srv.URL, "")
	s, err := p.Stream(context.Background(), &providers.Request{Model: "gemini-2.5-flash", Messages: []providers.Message{{Role: providers.RoleUser, Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var got []providers.Chunk
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	want := []providers.Chunk{
		{Thinking: &providers.ThinkingDelta{Text: "Weighing roles."}},
		{Delta: "Checking."},
		{ToolCall: &providers.ToolCallDelta{Index: 0, ID: "fc-1", Name: "lookup_role", Arguments: `{"title":"x"}`}},
		{Done: true, FinishReason: providers.FinishToolCalls, Usage: providers.Usage{InputTokens: 20, OutputTokens: 12, ReasoningTokens: 4}, ID: "s1", Model: "gemini-2.5-flash"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks\n%+v\nwant\n%+v", got, want)
	}
	if f.path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Errorf("path %q", f.path)
	}
}

// TestRefused checks that what the API cannot carry is refused by name
// before anything is sent.
func TestRefused(t *testing.T) {
	f, srv := newFake(t, 200, "application/json", okReply)
	p := newProvider(t, srv.URL, "")
	yes := true
	for name, tc := range map[string]struct {
		req  providers.Request
		want string
	}{
		"image by URL": {providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Parts: []providers.Part{
			{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.png"}}}}}}, "image.url"},
		"cache point":         {providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Content: "x", CachePoint: &providers.CachePoint{}}}}, "cache_point"},
		"parallel tool calls": {providers.Request{ParallelToolCalls: &yes, Messages: []providers.Message{{Role: providers.RoleUser, Content: "x"}}}, "parallel_tool_calls"},
		"effort":              {providers.Request{Reasoning: providers.Reasoning{Effort: providers.EffortHigh}, Messages: []providers.Message{{Role: providers.RoleUser, Content: "x"}}}, "reasoning.effort"},
		"unknown call id": {providers.Request{Messages: []providers.Message{{Role: providers.RoleTool, Parts: []providers.Part{
			{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "nope", Content: "x"}}}}}}, "tool_call_id"},
	} {
		tc.req.Model = "gemini-2.5-flash"
		_, err := p.Complete(context.Background(), &tc.req)
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindBadRequest || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a bad request naming %s", name, err, tc.want)
		}
	}
	if f.body != nil {
		t.Errorf("a refused request was sent: %s", f.body)
	}
}

// TestBearer checks the Vertex AI style of credentials.
func TestBearer(t *testing.T) {
	f, srv := newFake(t, 200, "application/json", okReply)
	p := newProvider(t, srv.URL, `{"auth":"bearer"}`)
	if _, err := p.Complete(context.Background(), &providers.Request{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if f.header.Get("Authorization") != "Bearer AIzaSyTEST-key_0123456789abcdefghijklmnop" || f.header.Get("X-Goog-Api-Key") != "" {
		t.Errorf("headers %v", f.header)
	}
	if _, err := gemini.New(providers.Settings{Name: "g", Options: json.RawMessage(`{"auth":"oauth"}`)}); err == nil {
		t.Error("an unknown auth mode was accepted")
	}
}

// TestErrorDetails checks what only the body says: the retry delay without
// a Retry-After header, field violations, and a blocked prompt.
func TestErrorDetails(t *testing.T) {
	_, srv := newFake(t, 429, "application/json", `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",`+
		`"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"38.5s"}]}}`)
	p := newProvider(t, srv.URL, "")
	req := &providers.Request{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: "x"}}}
	_, err := p.Complete(context.Background(), req)
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.RetryAfter != 38500*time.Millisecond || pe.Code != "RESOURCE_EXHAUSTED" {
		t.Errorf("429: %+v", err)
	}

	f, srv := newFake(t, 400, "application/json", string(mustRead(t, "testdata/errors/invalid_argument.json")))
	p = newProvider(t, srv.URL, "")
	_, err = p.Complete(context.Background(), req)
	if !strings.Contains(err.Error(), "generation_config: Invalid JSON payload") {
		t.Errorf("400 without its field violation: %v", err)
	}

	f.mu.Lock()
	f.status, f.reply = 200, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]},"usageMetadata":{"promptTokenCount":7},"responseId":"b1"}`
	f.mu.Unlock()
	got, err := p.Complete(context.Background(), req)
	if err != nil || got.FinishReason != providers.FinishContentFilter || got.Usage.InputTokens != 7 {
		t.Errorf("blocked prompt: %+v %v", got, err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
