package bedrock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/providertest"
	wire "github.com/careerpath/llmgateway/wire/bedrock"
)

// fake is a Bedrock endpoint serving one body and keeping the last
// request body.
type fake struct {
	srv  *httptest.Server
	ct   string
	body []byte
	got  chan []byte
}

func newFake(t *testing.T, ct string, body []byte) *fake {
	f := &fake{ct: ct, body: body, got: make(chan []byte, 4)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.got <- b
		w.Header().Set("Content-Type", f.ct)
		_, _ = w.Write(f.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func richRequest() *providers.Request {
	return &providers.Request{
		Model: "us.anthropic.claude-sonnet-4-20250514-v1:0",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You are a career coach.", CachePoint: &providers.CachePoint{TTL: time.Hour}},
			{Role: providers.RoleUser, Parts: []providers.Part{
				providers.TextPart("What is in this chart, and what is the weather in Berlin?"),
				{Kind: providers.PartImage, Image: &providers.Image{Data: []byte("\x89PNG"), MediaType: "image/png"}},
			}},
			{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "tooluse_1", Name: "weather", Arguments: `{"city":"Berlin"}`}},
			}},
			{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "tooluse_1", Content: "12C, rain"}},
			}},
		},
		Tools:      []providers.Tool{{Name: "weather", Description: "Current weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
		ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceRequired},
	}
}

// TestRichRequest checks the Converse body of a request with an image,
// a tool round trip, tools, tool choice and cache points.
func TestRichRequest(t *testing.T) {
	f := newFake(t, "application/json", []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},{"toolUse":{"toolUseId":"tooluse_2","name":"weather","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":50,"outputTokens":20,"totalTokens":70}}`))
	p := newProvider(t, f.srv.URL, "secret", 0)
	got, err := p.Complete(context.Background(), richRequest())
	if err != nil {
		t.Fatal(err)
	}
	body := <-f.got
	var sent map[string]any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	want := `{"inferenceConfig":{"maxTokens":4096},` +
		`"messages":[{"content":[{"text":"What is in this chart, and what is the weather in Berlin?"},{"image":{"format":"png","source":{"bytes":"iVBORw=="}}}],"role":"user"},` +
		`{"content":[{"toolUse":{"input":{"city":"Berlin"},"name":"weather","toolUseId":"tooluse_1"}}],"role":"assistant"},` +
		`{"content":[{"toolResult":{"content":[{"text":"12C, rain"}],"status":"success","toolUseId":"tooluse_1"}}],"role":"user"}],` +
		`"system":[{"text":"You are a career coach."},{"cachePoint":{"ttl":"1h","type":"default"}}],` +
		`"toolConfig":{"toolChoice":{"any":{}},"tools":[{"toolSpec":{"description":"Current weather","inputSchema":{"json":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}},"name":"weather"}}]}}`
	if norm, _ := json.Marshal(sent); string(norm) != want {
		t.Errorf("body\n%s\nwant\n%s", norm, want)
	}
	if got.FinishReason != providers.FinishToolCalls || got.Text != "Let me check." {
		t.Errorf("answer %+v", got)
	}
	parts := got.PartList()
	if len(parts) != 2 || parts[1].Kind != providers.PartToolCall || *parts[1].ToolCall != (providers.ToolCall{ID: "tooluse_2", Name: "weather", Arguments: `{"city":"Paris"}`}) {
		t.Errorf("parts %+v", parts)
	}
}

// TestRefused checks that what Converse cannot honour is refused by name
// before anything is sent.
func TestRefused(t *testing.T) {
	f := newFake(t, "application/json", nil)
	p := newProvider(t, f.srv.URL, "secret", 0)
	yes := true
	for name, mutate := range map[string]func(*providers.Request){
		"reasoning.budget_tokens": func(r *providers.Request) { r.Model, r.Reasoning.BudgetTokens = "amazon.nova-pro-v1:0", 1024 },
		"parallel_tool_calls":     func(r *providers.Request) { r.ParallelToolCalls = &yes },
		"cache_point.ttl":         func(r *providers.Request) { r.Messages[0].CachePoint.TTL = 10 * time.Minute },
		"messages.parts.image.url": func(r *providers.Request) {
			r.Messages[1].Parts[1].Image = &providers.Image{URL: "https://example.com/chart.png"}
		},
	} {
		req := richRequest()
		mutate(req)
		_, err := p.Complete(context.Background(), req)
		if providers.KindOf(err) != providers.KindBadRequest || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	select {
	case b := <-f.got:
		t.Errorf("a refused request was sent: %s", b)
	default:
	}
}

// TestJSONAnswer checks that a JSON answer goes through a forced tool and
// comes back as plain JSON text, unary and streamed.
func TestJSONAnswer(t *testing.T) {
	req := &providers.Request{
		Model:    "amazon.nova-pro-v1:0",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "Rate this CV."}},
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "rating",
			Schema: json.RawMessage(`{"type":"object","properties":{"score":{"type":"integer"}},"required":["score"]}`)},
	}
	f := newFake(t, "application/json", []byte(`{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"json_answer","input":{"score":7}}}]}},"stopReason":"tool_use","usage":{"inputTokens":9,"outputTokens":5,"totalTokens":14}}`))
	p := newProvider(t, f.srv.URL, "secret", 0)
	got, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != `{"score":7}` || got.FinishReason != providers.FinishStop || got.Parts != nil {
		t.Errorf("answer %+v", got)
	}
	if body := string(<-f.got); !strings.Contains(body, `"toolChoice":{"tool":{"name":"json_answer"}}`) {
		t.Errorf("no forced tool in %s", body)
	}

	var buf bytes.Buffer
	if err := wire.Encode(&buf, []wire.Event{
		{Type: "messageStart", Payload: json.RawMessage(`{"role":"assistant"}`)},
		{Type: "contentBlockStart", Payload: json.RawMessage(`{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"json_answer"}}}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"score\""}}}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":0,"delta":{"toolUse":{"input":":7}"}}}`)},
		{Type: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":0}`)},
		{Type: "messageStop", Payload: json.RawMessage(`{"stopReason":"tool_use"}`)},
		{Type: "metadata", Payload: json.RawMessage(`{"usage":{"inputTokens":9,"outputTokens":5,"totalTokens":14},"metrics":{"latencyMs":100}}`)},
	}); err != nil {
		t.Fatal(err)
	}
	f.ct, f.body = wire.ContentType, buf.Bytes()
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	streamed, err := providertest.Assemble(s)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Text != `{"score":7}` || streamed.FinishReason != providers.FinishStop || streamed.Usage.Total() != 14 {
		t.Errorf("stream %+v", streamed)
	}
}

// TestStreamToolCall checks streamed tool calls become tool-call deltas.
func TestStreamToolCall(t *testing.T) {
	var buf bytes.Buffer
	if err := wire.Encode(&buf, []wire.Event{
		{Type: "messageStart", Payload: json.RawMessage(`{"role":"assistant"}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":0,"delta":{"text":"Checking."}}`)},
		{Type: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":0}`)},
		{Type: "contentBlockStart", Payload: json.RawMessage(`{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_9","name":"weather"}}}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Oslo\"}"}}}`)},
		{Type: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":1}`)},
		{Type: "messageStop", Payload: json.RawMessage(`{"stopReason":"tool_use"}`)},
		{Type: "metadata", Payload: json.RawMessage(`{"usage":{"inputTokens":30,"outputTokens":12,"totalTokens":42},"metrics":{"latencyMs":100}}`)},
	}); err != nil {
		t.Fatal(err)
	}
	f := newFake(t, wire.ContentType, buf.Bytes())
	p := newProvider(t, f.srv.URL, "secret", 0)
	s, err := p.Stream(context.Background(), richRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var deltas []providers.ToolCallDelta
	var text strings.Builder
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(c.Delta)
		if c.ToolCall != nil {
			deltas = append(deltas, *c.ToolCall)
		}
		if c.Done && c.FinishReason != providers.FinishToolCalls {
			t.Errorf("finish %v", c.FinishReason)
		}
	}
	want := []providers.ToolCallDelta{{Index: 0, ID: "tooluse_9", Name: "weather"}, {Index: 0, Arguments: `{"city":`}, {Index: 0, Arguments: `"Oslo"}`}}
	if text.String() != "Checking." || len(deltas) != 3 || deltas[0] != want[0] || deltas[1] != want[1] || deltas[2] != want[2] {
		t.Errorf("text %q deltas %+v", text.String(), deltas)
	}
}
