package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/providertest"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/schemacheck"
)

var (
	jobsSchema       = json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string","enum":["Berlin","Paris"]}},"required":["title","city"]}`)
	salarySchema     = json.RawMessage(`{"type":"object","properties":{"level":{"type":"integer","minimum":3}},"required":["level"]}`)
	openaiPlanSchema = json.RawMessage(`{"type":"object","properties":{"role":{"type":"string"},"months":{"type":"integer","minimum":1}},"required":["role","months"],"additionalProperties":false}`)
	openaiRichTools  = []providers.Tool{{Name: "search_jobs", Parameters: jobsSchema}, {Name: "get_salary", Parameters: salarySchema}}
)

func simProvider(t *testing.T, cfg string) *sim.Provider {
	t.Helper()
	p, err := sim.NewProvider(providers.Settings{Name: "sim", Kind: sim.Kind, Options: json.RawMessage(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func openaiRichRequest() *providers.Request {
	return &providers.Request{Model: "gpt-4o", Messages: []providers.Message{{Role: providers.RoleUser, Content: "Find jobs."}}}
}

// answer calls p unary or streamed, assembling a stream by index.
func answer(t *testing.T, p providers.Provider, req *providers.Request, stream bool) *providers.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !stream {
		r, err := p.Complete(ctx, req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		return r
	}
	s, err := p.Stream(ctx, req)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer func() { _ = s.Close() }()
	r, err := providertest.Assemble(s)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	return r
}

// TestSimToolCalls checks which tools the simulator calls, that the
// arguments match each tool's schema, and that unary and streamed answers
// are the same.
func TestSimToolCalls(t *testing.T) {
	p := simProvider(t, "")
	no := false
	for _, tc := range []struct {
		name   string
		change func(r *providers.Request)
		want   []string
	}{
		{"parallel by default", func(*providers.Request) {}, []string{"search_jobs", "get_salary"}},
		{"parallel off", func(r *providers.Request) { r.ParallelToolCalls = &no }, []string{"search_jobs"}},
		{"required", func(r *providers.Request) {
			r.ToolChoice.Mode = providers.ToolChoiceRequired
			r.Tools = r.Tools[:1]
		}, []string{"search_jobs"}},
		{"named", func(r *providers.Request) {
			r.ToolChoice = providers.ToolChoice{Mode: providers.ToolChoiceTool, Name: "get_salary"}
		}, []string{"get_salary"}},
		{"none", func(r *providers.Request) { r.ToolChoice.Mode = providers.ToolChoiceNone }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := openaiRichRequest()
			req.Tools = openaiRichTools
			tc.change(req)
			unary := answer(t, p, req, false)
			streamed := answer(t, p, req, true)
			for _, r := range []*providers.Response{unary, streamed} {
				got := toolCalls(r)
				if len(got) != len(tc.want) {
					t.Fatalf("calls = %+v, want %v", got, tc.want)
				}
				if tc.want == nil {
					if r.Text == "" || r.FinishReason != providers.FinishStop {
						t.Errorf("answer %+v, want text", r)
					}
					continue
				}
				if r.FinishReason != providers.FinishToolCalls {
					t.Errorf("finish = %q", r.FinishReason)
				}
				cache := schemacheck.NewCache(8)
				for i, c := range got {
					if c.Name != tc.want[i] || c.ID == "" {
						t.Errorf("call %d = %+v, want %s", i, c, tc.want[i])
					}
					if err := cache.ValidateToolCall(openaiRichTools, c); err != nil {
						t.Errorf("call %d arguments %s: %v", i, c.Arguments, err)
					}
				}
			}
			if !equalParts(unary.PartList(), streamed.PartList()) || unary.Usage != streamed.Usage {
				t.Errorf("unary %+v\nstreamed %+v", unary, streamed)
			}
		})
	}
}

func equalParts(a, b []providers.Part) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].Text != b[i].Text || (a[i].ToolCall == nil) != (b[i].ToolCall == nil) ||
			(a[i].ToolCall != nil && *a[i].ToolCall != *b[i].ToolCall) {
			return false
		}
	}
	return true
}

// TestSimToolResult checks that the turn after a tool result is text
// naming the result.
func TestSimToolResult(t *testing.T) {
	p := simProvider(t, "")
	req := openaiRichRequest()
	req.Tools = openaiRichTools
	first := answer(t, p, req, false)
	c := toolCalls(first)[0]
	req.Messages = append(req.Messages,
		providers.Message{Role: providers.RoleAssistant, Parts: first.PartList()},
		providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult,
			ToolResult: &providers.ToolResult{ToolCallID: c.ID, Content: `["Zalando"]`}}}})
	for _, stream := range []bool{false, true} {
		r := answer(t, p, req, stream)
		if !strings.Contains(r.Text, `["Zalando"]`) || r.FinishReason != providers.FinishStop || r.Parts != nil {
			t.Errorf("stream %v: answer %+v", stream, r)
		}
	}
}

// TestSimJSON checks JSON answers: a json_schema one matches its schema
// (and, with schema_mismatch, does not), a json_object one is an object.
func TestSimJSON(t *testing.T) {
	s, err := schemacheck.Compile(openaiPlanSchema)
	if err != nil {
		t.Fatal(err)
	}
	req := openaiRichRequest()
	req.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "plan", Schema: openaiPlanSchema, Strict: true}
	ok, bad := simProvider(t, ""), simProvider(t, `{"schema_mismatch":true}`)
	for _, stream := range []bool{false, true} {
		if r := answer(t, ok, req, stream); s.Validate([]byte(r.Text)) != nil {
			t.Errorf("stream %v: %s does not match", stream, r.Text)
		}
		r := answer(t, bad, req, stream)
		if !json.Valid([]byte(r.Text)) || s.Validate([]byte(r.Text)) == nil {
			t.Errorf("stream %v: mismatch answer %s", stream, r.Text)
		}
	}
	req.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONObject}
	var obj map[string]any
	if r := answer(t, ok, req, true); json.Unmarshal([]byte(r.Text), &obj) != nil || obj["answer"] == "" {
		t.Errorf("json_object answer %s", r.Text)
	}
}

// TestSimImages checks that each image adds a fixed count to the prompt
// tokens.
func TestSimImages(t *testing.T) {
	p := simProvider(t, "")
	text := answer(t, p, &providers.Request{Model: "gpt-4o", Messages: []providers.Message{{Role: providers.RoleUser,
		Parts: []providers.Part{providers.TextPart("Find jobs.")}}}}, false)
	img := &providers.Image{Data: []byte{0x89, 'P', 'N', 'G'}, MediaType: "image/png"}
	two := answer(t, p, &providers.Request{Model: "gpt-4o", Messages: []providers.Message{{Role: providers.RoleUser,
		Parts: []providers.Part{providers.TextPart("Find jobs."), {Kind: providers.PartImage, Image: img},
			{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.png"}}}}}}, false)
	if d := two.Usage.InputTokens - text.Usage.InputTokens; d != 2*85 {
		t.Errorf("two images add %d prompt tokens, want 170", d)
	}
}

// TestSimRichFaults checks that faults apply to rich answers: a stream of
// tool calls cut after two pieces is a truncation.
func TestSimRichFaults(t *testing.T) {
	p := simProvider(t, "")
	if err := p.Simulator().SetFault(sim.Fault{DisconnectAfterTokens: 2}); err != nil {
		t.Fatal(err)
	}
	req := openaiRichRequest()
	req.Tools = openaiRichTools
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.Stream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	_, err = providertest.Assemble(s)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindTruncated {
		t.Errorf("err = %v, want a truncation", err)
	}
}
