package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/careerpath/llmgateway/providers"
)

// chunks reads every chunk of a recorded stream.
func chunks(t *testing.T, name string, unwrap bool) []providers.Chunk {
	t.Helper()
	ps := newParser(bytes.NewReader(readTestdata(t, name)), &Provider{name: "t"}, unwrap)
	var out []providers.Chunk
	for {
		c, err := ps.next()
		if err == io.EOF { //nolint:errorlint // the parser's own sentinel
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func TestStreamThinking(t *testing.T) {
	got := chunks(t, "rich/thinking.sse", false)
	var text, sig, redacted strings.Builder
	for _, c := range got {
		if c.Thinking != nil {
			text.WriteString(c.Thinking.Text)
			sig.WriteString(c.Thinking.Signature)
			redacted.WriteString(c.Thinking.Redacted)
		}
	}
	if text.String() != "The user asks for one next step. A portfolio project fits best." {
		t.Errorf("thinking = %q", text.String())
	}
	if sig.String() != "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds" {
		t.Errorf("signature = %q", sig.String())
	}
	if redacted.String() != "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP" {
		t.Errorf("redacted = %q", redacted.String())
	}
}

func TestStreamToolCallDeltas(t *testing.T) {
	var calls []providers.ToolCallDelta
	for _, c := range chunks(t, "rich/tool_use.sse", false) {
		if c.ToolCall != nil {
			calls = append(calls, *c.ToolCall)
		}
	}
	want := []providers.ToolCallDelta{
		{Index: 0, ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "search_jobs"},
		{Index: 0, Arguments: `{"title": "data eng`},
		{Index: 0, Arguments: `ineer", "location": "Berlin"}`},
		{Index: 1, ID: "toolu_01Ldh2m9QCMxDNiNvrxXaLwP", Name: "salary_range"},
		{Index: 1, Arguments: `{"title": "data engineer",`},
		{Index: 1, Arguments: ` "country": "DE"}`},
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("tool call deltas (-want +got):\n%s", diff)
	}
}

func TestRichRefused(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:1")
	if p.Supports(providers.FeatureReasoningEffort, "claude-sonnet-4-20250514") {
		t.Error("reasoning effort declared supported")
	}
	tests := []struct {
		name string
		mod  func(*providers.Request)
		want string
	}{
		{"reasoning effort", func(r *providers.Request) { r.Reasoning.Effort = providers.EffortHigh }, "reasoning.effort"},
		{"forced json with tools", func(r *providers.Request) {
			r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONObject}
			r.Tools = []providers.Tool{{Name: "a"}}
		}, "structured_output"},
		{"forced json while thinking", func(r *providers.Request) {
			r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONObject}
			r.Reasoning.BudgetTokens = 1024
		}, "budget_tokens"},
		{"tool call arguments not an object", func(r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "c", Name: "a", Arguments: "[1]"}}}})
		}, "not a JSON object"},
		{"bad data URL", func(r *providers.Request) {
			r.Messages[len(r.Messages)-1].Parts = []providers.Part{{Kind: providers.PartImage, Image: &providers.Image{URL: "data:image/png,abc"}}}
		}, "data URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := simpleRequest()
			tt.mod(req)
			_, _, err := p.appendRequest(nil, req, false)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != providers.KindBadRequest || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a bad request naming %q", err, tt.want)
			}
		})
	}
}

func TestStructuredOutputOption(t *testing.T) {
	for _, tt := range []struct {
		option, model string
		native        bool
	}{
		{"", "claude-sonnet-4-5-20250929", true},
		{"", "claude-sonnet-4-20250514", false},
		{"", "claude-sonnet-5-5", true},
		{"", "claude-opus-4-6", true},
		{"tool", "claude-opus-4-5", false},
		{"native", "claude-3-5-haiku-latest", true},
	} {
		p := newProvider(t, "http://127.0.0.1:1", func(s *providers.Settings) {
			if tt.option != "" {
				s.Options = json.RawMessage(`{"structured_output":"` + tt.option + `"}`)
			}
		})
		req := simpleRequest()
		req.Model = tt.model
		req.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object"}`)}
		body, unwrap, err := p.appendRequest(nil, req, false)
		if err != nil {
			t.Fatal(err)
		}
		if gotNative := bytes.Contains(body, []byte(`"output_config"`)); gotNative != tt.native || unwrap == tt.native {
			t.Errorf("option %q model %s: native %v unwrap %v, want native %v", tt.option, tt.model, gotNative, unwrap, tt.native)
		}
	}
	if _, err := New(providers.Settings{Name: "x", Options: json.RawMessage(`{"structured_output":"magic"}`)}); err == nil {
		t.Error("unknown structured_output accepted")
	}
}

// FuzzToolUseAssembly feeds tool_use streams with arbitrary fragments: the
// fragments of each call come back in order under the call's index, and
// the forced json_answer call's fragments become the text.
func FuzzToolUseAssembly(f *testing.F) {
	for _, name := range []string{"rich/tool_use.sse", "rich/json_tool.sse", "rich/thinking.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
		f.Add(b[:len(b)/2], true)
	}
	p := &Provider{name: "fuzz", text: providers.Redactor{Key: fakeKey, KeyPrefix: keyPrefix}}
	f.Fuzz(func(t *testing.T, in []byte, unwrap bool) {
		ps := newParser(bytes.NewReader(in), p, unwrap)
		seen := map[int]bool{}
		for i := 0; ; i++ {
			if i > len(in)+2 {
				t.Fatal("parser does not make progress")
			}
			c, err := ps.next()
			if err != nil {
				var pe *providers.Error
				if err != io.EOF && !errors.As(err, &pe) { //nolint:errorlint // the parser's own sentinel
					t.Fatalf("untyped error %T %v", err, err)
				}
				return
			}
			if d := c.ToolCall; d != nil {
				if d.Index < 0 || d.Index > i {
					t.Fatalf("tool call index %d out of range", d.Index)
				}
				if d.ID != "" || d.Name != "" {
					if seen[d.Index] {
						t.Fatalf("tool call %d started twice", d.Index)
					}
					seen[d.Index] = true
				} else if !seen[d.Index] {
					t.Fatalf("arguments for tool call %d before its start", d.Index)
				}
			}
		}
	})
}
