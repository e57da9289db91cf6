package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/anthropic"
	"github.com/careerpath/llmgateway/providers/providertest"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/schemacheck"
)

var (
	jobSchema  = json.RawMessage(`{"type":"object","properties":{"title":{"type":"string","minLength":3},"remote":{"type":"boolean"}},"required":["title","remote"]}`)
	planSchema = json.RawMessage(`{"type":"object","properties":{"role":{"type":"string"},"steps":{"type":"array","items":{"type":"string"},"minItems":2}},"required":["role","steps"],"additionalProperties":false}`)
	richTools  = []providers.Tool{{Name: "search_jobs", Parameters: jobSchema}, {Name: "now"}}
)

// anthropicOnSim is the real Anthropic client talking to a simulator.
func anthropicOnSim(t *testing.T, options string) (*sim.Server, providers.Provider) {
	t.Helper()
	e := start(t, sim.Config{})
	s := providers.Settings{Name: "sim", BaseURL: e.base, APIKey: "sk-ant-test"}
	if options != "" {
		s.Options = json.RawMessage(options)
	}
	p, err := anthropic.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return e.srv, p
}

func richRequest(mod func(*providers.Request)) *providers.Request {
	r := &providers.Request{Model: "claude-sonnet-4-20250514", MaxTokens: 64,
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "Find me a remote data engineering job."}}}
	mod(r)
	return r
}

// both answers req unary and streamed and checks they agree but for the
// ids.
func both(t *testing.T, p providers.Provider, req *providers.Request) *providers.Response {
	t.Helper()
	ctx := context.Background()
	got, err := p.Complete(ctx, req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	s, err := p.Stream(ctx, req)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer func() { _ = s.Close() }()
	streamed, err := providertest.Assemble(s)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if streamed.Text != got.Text || streamed.FinishReason != got.FinishReason || streamed.Usage != got.Usage {
		t.Errorf("streamed %+v\nunary    %+v", *streamed, *got)
	}
	var calls, scalls []providers.ToolCall
	for _, pt := range got.PartList() {
		if pt.ToolCall != nil {
			calls = append(calls, *pt.ToolCall)
		}
	}
	for _, pt := range streamed.PartList() {
		if pt.ToolCall != nil {
			scalls = append(scalls, *pt.ToolCall)
		}
	}
	if len(calls) != len(scalls) {
		t.Fatalf("unary calls %v, streamed %v", calls, scalls)
	}
	for i := range calls {
		if calls[i].Name != scalls[i].Name || calls[i].Arguments != scalls[i].Arguments {
			t.Errorf("call %d: unary %+v, streamed %+v", i, calls[i], scalls[i])
		}
	}
	return got
}

// toolCalls is the answer's tool calls, in order.
func toolCalls(r *providers.Response) []providers.ToolCall {
	var out []providers.ToolCall
	for _, pt := range r.PartList() {
		if pt.Kind == providers.PartToolCall {
			out = append(out, *pt.ToolCall)
		}
	}
	return out
}

func TestAnthropicToolCalls(t *testing.T) {
	_, p := anthropicOnSim(t, "")
	cache := schemacheck.NewCache(0)
	f := false
	tests := []struct {
		name  string
		mod   func(*providers.Request)
		calls []string
	}{
		{"auto calls the first tools in parallel", func(r *providers.Request) { r.Tools = richTools }, []string{"search_jobs", "now"}},
		{"parallel use disabled", func(r *providers.Request) { r.Tools = richTools; r.ParallelToolCalls = &f }, []string{"search_jobs"}},
		{"chosen tool", func(r *providers.Request) {
			r.Tools = richTools
			r.ToolChoice = providers.ToolChoice{Mode: providers.ToolChoiceTool, Name: "now"}
		}, []string{"now"}},
		{"none", func(r *providers.Request) {
			r.Tools = richTools
			r.ToolChoice = providers.ToolChoice{Mode: providers.ToolChoiceNone}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := richRequest(tt.mod)
			got := both(t, p, req)
			calls := toolCalls(got)
			var names []string
			for _, c := range calls {
				names = append(names, c.Name)
				if err := cache.ValidateToolCall(req.Tools, c); err != nil {
					t.Errorf("call %+v: %v", c, err)
				}
				if !strings.HasPrefix(c.ID, "toolu_") {
					t.Errorf("call id %q", c.ID)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.calls, ",") {
				t.Errorf("calls %v, want %v", names, tt.calls)
			}
			want := providers.FinishToolCalls
			if tt.calls == nil {
				want = providers.FinishStop
			}
			if got.FinishReason != want {
				t.Errorf("finish %q, want %q", got.FinishReason, want)
			}
		})
	}
}

func TestAnthropicToolRoundTrip(t *testing.T) {
	_, p := anthropicOnSim(t, "")
	req := richRequest(func(r *providers.Request) { r.Tools = richTools })
	first := both(t, p, req)
	calls := toolCalls(first)
	if len(calls) != 2 {
		t.Fatalf("calls %v", calls)
	}
	req.Messages = append(req.Messages, providers.Message{Role: providers.RoleAssistant, Parts: first.PartList()})
	for _, c := range calls {
		req.Messages = append(req.Messages, providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult,
			ToolResult: &providers.ToolResult{ToolCallID: c.ID, Content: `{"ok":true}`}}}})
	}
	second := both(t, p, req)
	if second.FinishReason != providers.FinishStop || second.Text == "" || len(toolCalls(second)) != 0 {
		t.Errorf("answer after the results = %+v", *second)
	}
}

func TestAnthropicStructuredOutput(t *testing.T) {
	compiled, err := schemacheck.Compile(planSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{anthropic.StructuredNative, anthropic.StructuredTool} {
		t.Run(mode, func(t *testing.T) {
			_, p := anthropicOnSim(t, `{"structured_output":"`+mode+`"}`)
			got := both(t, p, richRequest(func(r *providers.Request) {
				r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: planSchema}
			}))
			if err := compiled.Validate([]byte(got.Text)); err != nil {
				t.Errorf("answer %s: %v", got.Text, err)
			}
			if got.FinishReason != providers.FinishStop || got.Parts != nil {
				t.Errorf("answer %+v", *got)
			}
		})
	}
}

func TestAnthropicThinkingAndImages(t *testing.T) {
	_, p := anthropicOnSim(t, "")
	plain, err := p.Complete(context.Background(), richRequest(func(*providers.Request) {}))
	if err != nil {
		t.Fatal(err)
	}
	req := richRequest(func(r *providers.Request) {
		r.Reasoning.BudgetTokens = 1024
		r.Messages[0].Parts = []providers.Part{providers.TextPart(r.Messages[0].Content),
			{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.png"}},
			{Kind: providers.PartImage, Image: &providers.Image{Data: []byte{1, 2, 3}, MediaType: "image/png"}}}
		r.Messages[0].Content = ""
	})
	got := both(t, p, req)
	if got.Usage.InputTokens != plain.Usage.InputTokens+2*1600 {
		t.Errorf("input tokens %d, want %d + two images", got.Usage.InputTokens, plain.Usage.InputTokens)
	}
	parts := got.PartList()
	if len(parts) != 2 || parts[0].Kind != providers.PartThinking || parts[0].Thinking.Signature == "" || parts[1].Text != plain.Text {
		t.Fatalf("parts %+v", parts)
	}
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var thought, sig strings.Builder
	for {
		c, err := s.Recv()
		if err != nil {
			break
		}
		if c.Thinking != nil {
			thought.WriteString(c.Thinking.Text)
			sig.WriteString(c.Thinking.Signature)
		}
	}
	if thought.String() != parts[0].Thinking.Text || sig.String() != parts[0].Thinking.Signature {
		t.Errorf("streamed thinking %q %q, want %+v", thought.String(), sig.String(), *parts[0].Thinking)
	}
}

func TestAnthropicRichFaults(t *testing.T) {
	srv, p := anthropicOnSim(t, "")
	if err := srv.SetFault(sim.Fault{DisconnectAfterTokens: 2}); err != nil {
		t.Fatal(err)
	}
	s, err := p.Stream(context.Background(), richRequest(func(r *providers.Request) { r.Tools = richTools }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	_, err = providertest.Assemble(s)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindTruncated {
		t.Fatalf("err = %v, want truncated", err)
	}
	srv.ClearFaults()
	if err := srv.SetFault(sim.Fault{Status: 529}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Complete(context.Background(), richRequest(func(r *providers.Request) { r.Tools = richTools }))
	if !errors.As(err, &pe) || pe.Kind != providers.KindOverloaded {
		t.Fatalf("err = %v, want overloaded", err)
	}
}

// The simulator refuses tool results that answer no call of the turn
// before, as the API does, so a translation that loses or changes ids
// fails.
func TestAnthropicToolPairs(t *testing.T) {
	_, p := anthropicOnSim(t, "")
	req := richRequest(func(r *providers.Request) {
		r.Tools = richTools
		r.Messages = append(r.Messages,
			providers.Message{Role: providers.RoleAssistant, Parts: []providers.Part{{Kind: providers.PartToolCall,
				ToolCall: &providers.ToolCall{ID: "call_1", Name: "now", Arguments: "{}"}}}},
			providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult,
				ToolResult: &providers.ToolResult{ToolCallID: "call_2", Content: "x"}}}})
	})
	_, err := p.Complete(context.Background(), req)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindBadRequest || !strings.Contains(err.Error(), "call_2") {
		t.Fatalf("err = %v, want a bad request naming call_2", err)
	}
	req.Messages[2].Parts[0].ToolResult.ToolCallID = "call_1"
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}
