package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/bedrock"
	"github.com/careerpath/llmgateway/providers/providertest"
	"github.com/careerpath/llmgateway/providers/sim"
)

// bedrockAgainst builds the real Bedrock provider (the AWS SDK, SigV4 with
// static credentials) against a simulator.
func bedrockAgainst(t *testing.T, cfg sim.Config) (*sim.Server, providers.Provider) {
	t.Helper()
	srv, url, stop, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSIM")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sim-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	p, err := bedrock.New(providers.Settings{Name: "bedrock", BaseURL: url, Options: json.RawMessage(`{"region":"us-west-2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, p
}

const bedrockModel = "us.anthropic.claude-sonnet-4-20250514-v1:0"

// TestBedrockText checks Converse and ConverseStream give the same
// deterministic text as the simulator's other wires.
func TestBedrockText(t *testing.T) {
	_, p := bedrockAgainst(t, sim.Config{AnswerTokens: 8})
	req := &providers.Request{Model: bedrockModel, Messages: []providers.Message{{Role: providers.RoleUser, Content: "Which skills matter?"}}}
	want := sim.Text(bedrockModel, "Which skills matter?", 8, 0)
	got, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want || got.FinishReason != providers.FinishStop || got.Usage.OutputTokens != 8 || got.ID == "" {
		t.Errorf("Complete = %+v, want text %q", got, want)
	}
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	streamed, err := providertest.Assemble(s)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Text != want || streamed.FinishReason != providers.FinishStop || streamed.Usage != got.Usage {
		t.Errorf("stream %+v, want %q %+v", streamed, want, got.Usage)
	}
}

// TestBedrockTools checks a forced tool call carries arguments valid for
// its schema, and that a tool result is answered with text.
func TestBedrockTools(t *testing.T) {
	_, p := bedrockAgainst(t, sim.Config{})
	req := &providers.Request{
		Model:    bedrockModel,
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "Weather in Oslo?"}},
		Tools: []providers.Tool{{Name: "weather", Parameters: json.RawMessage(
			`{"type":"object","properties":{"city":{"type":"string","minLength":2}},"required":["city"]}`)}},
		ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceTool, Name: "weather"},
	}
	got, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	parts := got.PartList()
	if got.FinishReason != providers.FinishToolCalls || len(parts) != 1 || parts[0].Kind != providers.PartToolCall {
		t.Fatalf("answer %+v", got)
	}
	call := parts[0].ToolCall
	var args struct{ City string }
	if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil || len(args.City) < 2 || call.Name != "weather" || call.ID == "" {
		t.Errorf("call %+v", call)
	}
	req.ToolChoice = providers.ToolChoice{Mode: providers.ToolChoiceAuto}
	req.Messages = append(req.Messages,
		providers.Message{Role: providers.RoleAssistant, Parts: parts},
		providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: call.ID, Content: "4C"}}}})
	got, err = p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.FinishReason != providers.FinishStop || got.Text == "" || got.Parts != nil {
		t.Errorf("after the tool result: %+v", got)
	}
}

// TestBedrockFaults checks the simulator's faults read as Bedrock's
// exceptions and a cut stream as a truncation.
func TestBedrockFaults(t *testing.T) {
	srv, p := bedrockAgainst(t, sim.Config{})
	req := &providers.Request{Model: bedrockModel, Messages: []providers.Message{{Role: providers.RoleUser, Content: "Hi"}}}
	for _, tc := range []struct {
		fault sim.Fault
		want  providers.ErrorKind
	}{
		{sim.Fault{Status: 429, RetryAfter: "3"}, providers.KindRateLimited},
		{sim.Fault{Status: 503}, providers.KindOverloaded},
		{sim.Fault{Status: 500}, providers.KindServer},
		{sim.Fault{Status: 403}, providers.KindAuth},
		{sim.Fault{ContextLength: true}, providers.KindContextLength},
	} {
		if err := srv.SetFault(tc.fault); err != nil {
			t.Fatal(err)
		}
		_, err := p.Complete(context.Background(), req)
		if k := providers.KindOf(err); k != tc.want {
			t.Errorf("%+v: %v (kind %v), want %v", tc.fault, err, k, tc.want)
		}
	}
	if err := srv.SetFault(sim.Fault{DisconnectAfterTokens: 3}); err != nil {
		t.Fatal(err)
	}
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var text strings.Builder
	for {
		c, err := s.Recv()
		if err != nil {
			if providers.KindOf(err) != providers.KindTruncated {
				t.Errorf("after %q: %v, want a truncation", text.String(), err)
			}
			break
		}
		text.WriteString(c.Delta)
	}
	if text.String() == "" {
		t.Error("no text before the cut")
	}
}

// TestBedrockSimKind checks the sim kind's bedrock wire: the bedrock
// backend, signed with placeholder keys, in front of an embedded simulator.
func TestBedrockSimKind(t *testing.T) {
	p, err := providers.New(providers.Settings{Name: "bedrock", Kind: sim.Kind, Options: json.RawMessage(`{"wire":"bedrock","answer_tokens":5}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.(io.Closer).Close() }()
	got, err := p.Complete(context.Background(), &providers.Request{Model: bedrockModel, Messages: []providers.Message{{Role: providers.RoleUser, Content: "Hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := sim.Text(bedrockModel, "Hi", 5, 0); got.Text != want || got.Usage.OutputTokens != 5 {
		t.Errorf("answer %+v, want %q", got, want)
	}
}

// TestBedrockConcurrentStreams reads overlapping ConverseStream answers
// through one provider: each stream carries its own request's text, whole
// (under -race, the SDK's shared event-stream decoder would show here).
func TestBedrockConcurrentStreams(t *testing.T) {
	_, p := bedrockAgainst(t, sim.Config{AnswerTokens: 40})
	const streams = 8
	want := make([]string, streams)
	req := func(i int) *providers.Request {
		return &providers.Request{Model: bedrockModel, MaxTokens: 200,
			Messages: []providers.Message{{Role: providers.RoleUser, Content: fmt.Sprintf("Question number %d about careers", i)}}}
	}
	for i := range want {
		resp, err := p.Complete(context.Background(), req(i))
		if err != nil {
			t.Fatal(err)
		}
		want[i] = resp.Text
	}
	var wg sync.WaitGroup
	for round := range 3 {
		for i := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := p.Stream(context.Background(), req(i))
				if err != nil {
					t.Error(err)
					return
				}
				defer func() { _ = s.Close() }()
				var b strings.Builder
				for {
					c, err := s.Recv()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Error(err)
						return
					}
					b.WriteString(c.Delta)
				}
				if b.String() != want[i] {
					t.Errorf("round %d, stream %d: %q, want %q", round, i, b.String(), want[i])
				}
			}()
		}
		wg.Wait()
	}
}
