package sim_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/gemini"
	"github.com/careerpath/llmgateway/providers/providertest"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/schemacheck"
)

// startGemini serves a simulator and builds a gemini provider against it.
func startGemini(t *testing.T) (*sim.Server, *gemini.Provider) {
	t.Helper()
	srv, base, stop, err := sim.Start(sim.Config{RequireAPIKey: "AIzaSim"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	p, err := gemini.New(providers.Settings{Name: "gem", BaseURL: base + "/v1beta", APIKey: "AIzaSim", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, p
}

func userTurn(s string) []providers.Message {
	return []providers.Message{{Role: providers.RoleSystem, Content: "Be brief."}, {Role: providers.RoleUser, Content: s}}
}

// TestGeminiText checks a unary and a streamed answer in Gemini's dialect.
func TestGeminiText(t *testing.T) {
	_, p := startGemini(t)
	ctx := context.Background()
	req := &providers.Request{Model: "gemini-2.5-flash", Messages: userTurn("Plan my week.")}
	want := sim.Text("gemini-2.5-flash", "Plan my week.", 0, 0)
	got, err := p.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want || got.FinishReason != providers.FinishStop || got.Usage.OutputTokens != sim.DefaultAnswerTokens || got.Model != "gemini-2.5-flash" {
		t.Errorf("answer %+v, want text %q", got, want)
	}
	s, err := p.Stream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	streamed, err := providertest.Assemble(s)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Text != want || streamed.FinishReason != providers.FinishStop || streamed.Usage != got.Usage {
		t.Errorf("stream %+v, want text %q", streamed, want)
	}

	req.MaxTokens = 3
	got, err = p.Complete(ctx, req)
	if err != nil || got.FinishReason != providers.FinishLength || got.Text != sim.Text("gemini-2.5-flash", "Plan my week.", 0, 3) {
		t.Errorf("capped answer %+v %v", got, err)
	}
}

// TestGeminiToolsAndJSON checks a tool round trip and a schema-checked
// JSON answer.
func TestGeminiToolsAndJSON(t *testing.T) {
	_, p := startGemini(t)
	ctx := context.Background()
	params := json.RawMessage(`{"type":"object","properties":{"title":{"type":"string","enum":["data engineer"]}},"required":["title"]}`)
	req := &providers.Request{Model: "gemini-2.5-pro", Messages: userTurn("What does a data engineer need?"),
		Tools: []providers.Tool{{Name: "lookup_role", Parameters: params}}}
	got, err := p.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	parts := got.PartList()
	if got.FinishReason != providers.FinishToolCalls || len(parts) != 1 || parts[0].ToolCall == nil {
		t.Fatalf("want one tool call: %+v", got)
	}
	call := parts[0].ToolCall
	ps, err := schemacheck.Compile(params)
	if err != nil {
		t.Fatal(err)
	}
	if call.Name != "lookup_role" || ps.Validate([]byte(call.Arguments)) != nil || !strings.HasPrefix(call.ID, gemini.SyntheticIDPrefix) {
		t.Errorf("call %+v", call)
	}
	req.Messages = append(req.Messages,
		providers.Message{Role: providers.RoleAssistant, Parts: parts},
		providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: call.ID, Content: "SQL"}}}})
	got, err = p.Complete(ctx, req)
	if err != nil || got.FinishReason != providers.FinishStop || got.Text == "" {
		t.Fatalf("after the result: %+v %v", got, err)
	}

	schema := json.RawMessage(`{"type":"object","properties":{"role":{"type":"string"},"years":{"type":"integer","minimum":2}},"required":["role","years"]}`)
	jreq := &providers.Request{Model: "gemini-2.5-pro", Messages: userTurn("Answer in JSON."),
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: schema}}
	got, err = p.Complete(ctx, jreq)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := schemacheck.Compile(schema)
	if err := js.Validate([]byte(got.Text)); err != nil {
		t.Errorf("JSON answer %q: %v", got.Text, err)
	}
}

// TestGeminiFaults checks the injected faults in Gemini's dialect.
func TestGeminiFaults(t *testing.T) {
	srv, p := startGemini(t)
	ctx := context.Background()
	req := &providers.Request{Model: "gemini-2.5-flash", Messages: userTurn("Hello there.")}
	for _, tc := range []struct {
		fault sim.Fault
		kind  providers.ErrorKind
		retry time.Duration
	}{
		{sim.Fault{Status: 429, RetryAfter: "3", Path: sim.PathGemini}, providers.KindRateLimited, 3 * time.Second},
		{sim.Fault{Status: 503}, providers.KindOverloaded, 0},
		{sim.Fault{Status: 500}, providers.KindServer, 0},
		{sim.Fault{ContextLength: true}, providers.KindContextLength, 0},
	} {
		if err := srv.SetFault(tc.fault); err != nil {
			t.Fatal(err)
		}
		_, err := p.Complete(ctx, req)
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != tc.kind || pe.RetryAfter != tc.retry {
			t.Errorf("fault %+v: %v", tc.fault, err)
		}
	}
	if err := srv.SetFault(sim.Fault{DisconnectAfterTokens: 3}); err != nil {
		t.Fatal(err)
	}
	s, err := p.Stream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	n := 0
	for {
		c, err := s.Recv()
		if err != nil {
			if providers.KindOf(err) != providers.KindTruncated || n != 3 {
				t.Errorf("after %d deltas: %v, want a truncation", n, err)
			}
			break
		}
		if c.Delta != "" {
			n++
		}
	}
}

// TestGeminiAuth checks that a wrong key is the operator's problem.
func TestGeminiAuth(t *testing.T) {
	_, base, stop, err := sim.Start(sim.Config{RequireAPIKey: "AIzaSim"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	p, err := gemini.New(providers.Settings{Name: "gem", BaseURL: base + "/v1beta", APIKey: "AIzaWrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Complete(context.Background(), &providers.Request{Model: "m", Messages: userTurn("x")})
	if providers.KindOf(err) != providers.KindAuth || strings.Contains(err.Error(), "AIzaWrong") {
		t.Errorf("wrong key: %v", err)
	}
}

// TestGeminiSimKind checks the sim kind speaking Gemini's wire: the
// client's features are the sim provider's.
func TestGeminiSimKind(t *testing.T) {
	pr, err := providers.New(providers.Settings{Name: "g", Kind: sim.Kind, Options: json.RawMessage(`{"wire":"gemini"}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pr.(io.Closer).Close() }()
	req := &providers.Request{Model: "gemini-2.5-flash", Messages: userTurn("Plan my week."),
		Tools: []providers.Tool{{Name: "plan", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	if bad := providers.Unsupported(pr, req); len(bad) != 0 {
		t.Fatalf("unsupported %v", bad)
	}
	got, err := pr.Complete(context.Background(), req)
	if err != nil || got.FinishReason != providers.FinishToolCalls {
		t.Fatalf("%+v %v", got, err)
	}
}
