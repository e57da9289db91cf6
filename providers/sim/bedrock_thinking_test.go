package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sim"
)

const thinkingModel = "global.anthropic.claude-haiku-4-5-20251001-v1:0"

// thinkingWeather is a thinking request offering one tool.
func thinkingWeather() *providers.Request {
	return &providers.Request{
		Model:     thinkingModel,
		MaxTokens: 4096,
		Reasoning: providers.Reasoning{BudgetTokens: 2048},
		Messages:  []providers.Message{{Role: providers.RoleUser, Content: "Weather in Oslo?"}},
		Tools: []providers.Tool{{Name: "weather", Parameters: json.RawMessage(
			`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
		ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceAuto},
	}
}

// collect reads a stream whole: its text, its thinking deltas merged into
// one, its tool calls and its terminal chunk.
func collect(t *testing.T, s providers.Stream) (text string, th providers.Thinking, calls []providers.ToolCall, last providers.Chunk) {
	t.Helper()
	defer func() { _ = s.Close() }()
	var b strings.Builder
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), th, calls, last
		}
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(c.Delta)
		if d := c.Thinking; d != nil {
			if b.Len() > 0 || len(calls) > 0 {
				t.Error("thinking after the answer began")
			}
			th.Text += d.Text
			th.Signature += d.Signature
			th.Redacted += d.Redacted
		}
		if d := c.ToolCall; d != nil {
			if d.ID != "" {
				calls = append(calls, providers.ToolCall{ID: d.ID, Name: d.Name})
			}
			calls[len(calls)-1].Arguments += d.Arguments
		}
		if c.Done {
			last = c
		}
	}
}

// TestBedrockThinkingRoundTrip checks extended thinking on a Claude model
// through Converse and ConverseStream: the signed reasoning comes first,
// alike in both, then the tool call; the reasoning goes back with the
// call and its result, and the simulator answers only when it holds the
// signature it gave.
func TestBedrockThinkingRoundTrip(t *testing.T) {
	_, p := bedrockAgainst(t, sim.Config{AnswerTokens: 6})
	req := thinkingWeather()
	got, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	parts := got.PartList()
	if got.FinishReason != providers.FinishToolCalls || len(parts) != 2 ||
		parts[0].Kind != providers.PartThinking || parts[1].Kind != providers.PartToolCall {
		t.Fatalf("answer %+v parts %+v", got, parts)
	}
	thought := *parts[0].Thinking
	if !strings.Contains(thought.Text, "Weather in Oslo") || thought.Signature == "" {
		t.Errorf("thinking %+v", thought)
	}

	text, streamed, calls, last := collect(t, mustStream(t, p, req))
	if streamed != thought || text != "" || len(calls) != 1 || calls[0] != *parts[1].ToolCall ||
		last.FinishReason != providers.FinishToolCalls || last.Usage != got.Usage {
		t.Errorf("stream: thinking %+v text %q calls %+v last %+v; want %+v %+v %+v", streamed, text, calls, last, thought, *parts[1].ToolCall, got.Usage)
	}
	if got.Usage.OutputTokens <= int64(len(strings.Fields(thought.Text))) {
		t.Errorf("output tokens %d leave out the reasoning", got.Usage.OutputTokens)
	}

	result := providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult,
		ToolResult: &providers.ToolResult{ToolCallID: parts[1].ToolCall.ID, Content: "4C"}}}}
	next := thinkingWeather()
	next.Messages = append(next.Messages, providers.Message{Role: providers.RoleAssistant, Parts: parts}, result)
	answer, err := p.Complete(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	ap := answer.PartList()
	if answer.FinishReason != providers.FinishStop || answer.Text == "" || len(ap) != 2 || ap[0].Kind != providers.PartThinking {
		t.Errorf("after the tool result: %+v", answer)
	}
	text, _, _, last = collect(t, mustStream(t, p, next))
	if text != answer.Text || last.FinishReason != providers.FinishStop {
		t.Errorf("streamed after the tool result: %q %+v, want %q", text, last, answer.Text)
	}

	for name, history := range map[string][]providers.Part{
		"reasoning dropped": parts[1:],
		"signature altered": {{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: thought.Text, Signature: thought.Signature + "x"}}, parts[1]},
	} {
		bad := thinkingWeather()
		bad.Messages = append(bad.Messages, providers.Message{Role: providers.RoleAssistant, Parts: history}, result)
		if _, err := p.Complete(context.Background(), bad); providers.KindOf(err) != providers.KindBadRequest {
			t.Errorf("%s: %v, want a bad request", name, err)
		}
	}
}

func mustStream(t *testing.T, p providers.Provider, req *providers.Request) providers.Stream {
	t.Helper()
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBedrockThinkingValidation checks the simulator refuses thinking as
// Bedrock does: for a model without it, a manual budget for a Claude 5
// model, too small a budget, a budget not below maxTokens, a forced tool or
// a temperature.
func TestBedrockThinkingValidation(t *testing.T) {
	_, url, stop, err := sim.Start(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	const msgs = `"messages":[{"role":"user","content":[{"text":"Hi"}]}]`
	for _, tc := range []struct {
		name, model, body, want string
	}{
		{"nova", "amazon.nova-pro-v1:0", `{` + msgs + `,"inferenceConfig":{"maxTokens":4096},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}}}`, "extraneous key [thinking]"},
		{"claude 5 budget", "global.anthropic.claude-sonnet-5-5", `{` + msgs + `,"inferenceConfig":{"maxTokens":4096},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}}}`, "thinks adaptively"},
		{"small budget", thinkingModel, `{` + msgs + `,"inferenceConfig":{"maxTokens":4096},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":100}}}`, "greater than or equal to 1024"},
		{"budget above max", thinkingModel, `{` + msgs + `,"inferenceConfig":{"maxTokens":2000},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}}}`, "must be greater than `thinking.budget_tokens`"},
		{"forced tool", thinkingModel, `{` + msgs + `,"inferenceConfig":{"maxTokens":4096},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}},` +
			`"toolConfig":{"tools":[{"toolSpec":{"name":"w","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}}}`, "forces tool use"},
		{"temperature", thinkingModel, `{` + msgs + `,"inferenceConfig":{"maxTokens":4096,"temperature":0.2},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}}}`, "only be set to 1"},
	} {
		res, err := http.Post(url+"/model/"+tc.model+"/converse", "application/json", bytes.NewReader([]byte(tc.body)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Header.Get("X-Amzn-Errortype"), "ValidationException") || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s %s, want a ValidationException saying %q", tc.name, res.StatusCode, res.Header.Get("X-Amzn-Errortype"), b, tc.want)
		}
	}
}
