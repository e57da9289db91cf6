package bedrock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/bedrock"
)

// thinkingRequest is a Claude request with a thinking budget whose history
// holds an earlier turn's signed reasoning and a redacted block before its
// tool call.
func thinkingRequest() *providers.Request {
	return &providers.Request{
		Model:     "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
		MaxTokens: 8000,
		Reasoning: providers.Reasoning{BudgetTokens: 2048},
		Messages: []providers.Message{
			{Role: providers.RoleUser, Content: "Weather in Oslo?"},
			{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "The user wants Oslo.", Signature: "c2lnLTE="}},
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Redacted: "AAEC"}},
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "tooluse_1", Name: "weather", Arguments: `{"city":"Oslo"}`}},
			}},
			{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "tooluse_1", Content: "4C"}},
			}},
		},
		Tools:      []providers.Tool{{Name: "weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
		ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceAuto},
	}
}

// TestThinkingRequestAndAnswer checks the Converse body of a thinking
// request (the budget in additionalModelRequestFields, reasoning blocks
// sent back exactly) and that an answer's reasoning becomes thinking parts
// with their signatures, before the text.
func TestThinkingRequestAndAnswer(t *testing.T) {
	f := newFake(t, "application/json", []byte(`{"output":{"message":{"role":"assistant","content":[`+
		`{"reasoningContent":{"reasoningText":{"text":"4C is cold.","signature":"c2lnLTI="}}},`+
		`{"reasoningContent":{"redactedContent":"AwQF"}},`+
		`{"text":"Wear a coat."}]}},"stopReason":"end_turn","usage":{"inputTokens":80,"outputTokens":40,"totalTokens":120}}`))
	p := newProvider(t, f.srv.URL, "secret", 0)
	got, err := p.Complete(context.Background(), thinkingRequest())
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Extra    json.RawMessage `json:"additionalModelRequestFields"`
		Messages []struct {
			Role    string            `json:"role"`
			Content []json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	body := <-f.got
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent.Extra) != `{"thinking":{"budget_tokens":2048,"type":"enabled"}}` {
		t.Errorf("additionalModelRequestFields %s", sent.Extra)
	}
	if len(sent.Messages) != 3 || len(sent.Messages[1].Content) != 3 {
		t.Fatalf("messages %s", body)
	}
	for i, want := range []string{
		`{"reasoningContent":{"reasoningText":{"signature":"c2lnLTE=","text":"The user wants Oslo."}}}`,
		`{"reasoningContent":{"redactedContent":"AAEC"}}`,
		`{"toolUse":{"input":{"city":"Oslo"},"name":"weather","toolUseId":"tooluse_1"}}`,
	} {
		if g := string(sent.Messages[1].Content[i]); g != want {
			t.Errorf("assistant block %d = %s, want %s", i, g, want)
		}
	}
	parts := got.PartList()
	if got.Text != "Wear a coat." || len(parts) != 3 ||
		*parts[0].Thinking != (providers.Thinking{Text: "4C is cold.", Signature: "c2lnLTI="}) ||
		*parts[1].Thinking != (providers.Thinking{Redacted: "AwQF"}) || parts[2] != providers.TextPart("Wear a coat.") {
		t.Errorf("answer %+v parts %+v", got, parts)
	}
}

// TestThinkingStream checks reasoning deltas become thinking deltas, the
// text and then the signature, before the answer text.
func TestThinkingStream(t *testing.T) {
	var buf bytes.Buffer
	if err := wire.Encode(&buf, []wire.Event{
		{Type: "messageStart", Payload: json.RawMessage(`{"role":"assistant"}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"4C is "}}}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"cold."}}}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2lnLTI="}}}`)},
		{Type: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":0}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"AwQF"}}}`)},
		{Type: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":1}`)},
		{Type: "contentBlockDelta", Payload: json.RawMessage(`{"contentBlockIndex":2,"delta":{"text":"Wear a coat."}}`)},
		{Type: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":2}`)},
		{Type: "messageStop", Payload: json.RawMessage(`{"stopReason":"end_turn"}`)},
		{Type: "metadata", Payload: json.RawMessage(`{"usage":{"inputTokens":80,"outputTokens":40,"totalTokens":120},"metrics":{"latencyMs":100}}`)},
	}); err != nil {
		t.Fatal(err)
	}
	f := newFake(t, wire.ContentType, buf.Bytes())
	p := newProvider(t, f.srv.URL, "secret", 0)
	s, err := p.Stream(context.Background(), thinkingRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var got []providers.ThinkingDelta
	var text strings.Builder
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Thinking != nil {
			if text.Len() > 0 {
				t.Error("a thinking delta after the text")
			}
			got = append(got, *c.Thinking)
		}
		text.WriteString(c.Delta)
	}
	want := []providers.ThinkingDelta{{Text: "4C is "}, {Text: "cold."}, {Signature: "c2lnLTI="}, {Redacted: "AwQF"}}
	if text.String() != "Wear a coat." || len(got) != len(want) {
		t.Fatalf("text %q thinking %+v", text.String(), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("thinking delta %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if b := string(<-f.got); !strings.Contains(b, `"additionalModelRequestFields":{"thinking":{"budget_tokens":2048,"type":"enabled"}}`) {
		t.Errorf("the stream request has no thinking: %s", b)
	}
}

// TestThinkingRefused checks what Bedrock cannot honour with thinking is
// refused by name before anything is sent: reasoning for models without
// extended thinking, an effort, and the combinations Claude refuses.
func TestThinkingRefused(t *testing.T) {
	f := newFake(t, "application/json", nil)
	p := newProvider(t, f.srv.URL, "secret", 0)
	half, low := 0.5, 0.5
	for _, tc := range []struct {
		name, want string
		mutate     func(*providers.Request)
	}{
		{"nova budget", "reasoning.budget_tokens", func(r *providers.Request) { r.Model, r.Messages = "amazon.nova-pro-v1:0", r.Messages[:1] }},
		{"claude 3.5 budget", "reasoning.budget_tokens", func(r *providers.Request) { r.Model = "anthropic.claude-3-5-haiku-20241022-v1:0" }},
		{"nova thinking part", "messages.parts.thinking", func(r *providers.Request) {
			r.Model, r.Reasoning = "amazon.nova-pro-v1:0", providers.Reasoning{}
		}},
		{"effort", "reasoning.effort", func(r *providers.Request) {
			r.Reasoning = providers.Reasoning{Effort: providers.EffortHigh}
		}},
		{"json answer", "response_format", func(r *providers.Request) {
			r.Tools, r.ToolChoice = nil, providers.ToolChoice{}
			r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONObject}
		}},
		{"forced tool", "tool_choice required", func(r *providers.Request) { r.ToolChoice.Mode = providers.ToolChoiceRequired }},
		{"temperature", "temperature 0.5", func(r *providers.Request) { r.Temperature = &half }},
		{"top_p", "top_p 0.5", func(r *providers.Request) { r.TopP = &low }},
	} {
		req := thinkingRequest()
		tc.mutate(req)
		_, err := p.Complete(context.Background(), req)
		if providers.KindOf(err) != providers.KindBadRequest || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a bad request naming %q", tc.name, err, tc.want)
		}
	}
	select {
	case b := <-f.got:
		t.Errorf("a refused request was sent: %s", b)
	default:
	}
}

// TestThinkingModels checks which model ids take a thinking budget and
// thinking parts: Claude 3.7 to 4.x both, Claude 5 (adaptive thinking)
// thinking parts only, every other model neither.
func TestThinkingModels(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:1", "secret", 0)
	for _, model := range []string{"global.anthropic.claude-sonnet-5-5", "global.anthropic.claude-opus-5-5"} {
		if p.Supports(providers.FeatureReasoningBudget, model) || !p.Supports(providers.FeatureThinking, model) {
			t.Errorf("%s: budget %v thinking parts %v, want false true", model,
				p.Supports(providers.FeatureReasoningBudget, model), p.Supports(providers.FeatureThinking, model))
		}
	}
	for model, want := range map[string]bool{
		"global.anthropic.claude-haiku-4-5-20251001-v1:0": true,
		"us.anthropic.claude-sonnet-4-20250514-v1:0":      true,
		"anthropic.claude-opus-4-1-20250805-v1:0":         true,
		"us.anthropic.claude-3-7-sonnet-20250219-v1:0":    true,
		"global.anthropic.claude-sonnet-4-6":              true,
		"anthropic.claude-3-5-sonnet-20241022-v2:0":       false,
		"us.anthropic.claude-3-haiku-20240307-v1:0":       false,
		"anthropic.claude-v2:1":                           false,
		"amazon.nova-pro-v1:0":                            false,
		"meta.llama3-70b-instruct-v1:0":                   false,
		"arn:aws:bedrock:us-east-1:1:inference-profile/x": false,
	} {
		if got := p.Supports(providers.FeatureReasoningBudget, model); got != want {
			t.Errorf("%s: budget %v, want %v", model, got, want)
		}
		if got := p.Supports(providers.FeatureThinking, model); got != want {
			t.Errorf("%s: thinking parts %v, want %v", model, got, want)
		}
		if p.Supports(providers.FeatureReasoningEffort, model) {
			t.Errorf("%s: reasoning effort supported", model)
		}
	}
}
