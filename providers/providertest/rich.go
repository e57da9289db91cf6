package providertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// RichCase is an exchange beyond plain text (tools, tool results, images,
// JSON answers): a request, the body the backend must send for it, the
// recorded answer and what the backend must make of it.
type RichCase struct {
	// Name names the subtest.
	Name string
	// Request is the request the suite sends.
	Request *providers.Request
	// Stream sends it with Stream, assembling the answer with
	// [Assemble]; otherwise with Complete.
	Stream bool
	// WantBody, when set, is the JSON body the backend must send,
	// compared as JSON values (key order and spacing do not matter).
	WantBody []byte
	// Answer is the recorded response and the answer wanted. For a
	// stream, Want is what [Assemble] makes of the chunks.
	Answer Answer
}

// runRich runs every rich case of kit.
func runRich(t *testing.T, kit Kit) {
	for _, c := range kit.Rich {
		t.Run("Rich/"+c.Name, func(t *testing.T) {
			v, p := setup(t, kit, c.Answer.Cassette)
			var got *providers.Response
			if c.Stream {
				s, err := p.Stream(ctx(t), c.Request)
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				defer func() { _ = s.Close() }()
				if got, err = Assemble(s); err != nil {
					t.Fatalf("Assemble: %v", err)
				}
			} else {
				var err error
				if got, err = p.Complete(ctx(t), c.Request); err != nil {
					t.Fatalf("Complete: %v", err)
				}
			}
			if !reflect.DeepEqual(got.PartList(), c.Answer.Want.PartList()) {
				t.Errorf("parts = %s\nwant    %s", partsString(got.PartList()), partsString(c.Answer.Want.PartList()))
			}
			gotFlat, wantFlat := *got, c.Answer.Want
			gotFlat.Parts, wantFlat.Parts = nil, nil
			if gotFlat != wantFlat {
				t.Errorf("answer = %+v\nwant     %+v", gotFlat, wantFlat)
			}
			r := v.lastRequest()
			if r.method != http.MethodPost || r.path != kit.Path {
				t.Errorf("request %s %s, want POST %s", r.method, r.path, kit.Path)
			}
			if c.WantBody != nil && !jsonEqual(r.body, c.WantBody) {
				t.Errorf("request body:\n%s\nwant:\n%s", r.body, c.WantBody)
			}
		})
	}
}

// Assemble reads s to its end and builds the answer it carries: the text
// deltas joined, tool calls put together from their deltas by index (in
// index order, after any text), and the terminal chunk's id, model, finish
// reason and usage. Parts is set only when the answer has tool calls.
func Assemble(s providers.Stream) (*providers.Response, error) {
	var (
		text  strings.Builder
		calls = map[int]*providers.ToolCall{}
		out   providers.Response
		done  bool
	)
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if done {
			return nil, errors.New("a chunk after the terminal chunk")
		}
		text.WriteString(c.Delta)
		if d := c.ToolCall; d != nil {
			tc := calls[d.Index]
			if tc == nil {
				tc = &providers.ToolCall{}
				calls[d.Index] = tc
			}
			if d.ID != "" {
				tc.ID = d.ID
			}
			if d.Name != "" {
				tc.Name = d.Name
			}
			tc.Arguments += d.Arguments
		}
		if c.Done {
			done = true
			out.ID, out.Model, out.FinishReason, out.Usage = c.ID, c.Model, c.FinishReason, c.Usage
		}
	}
	if !done {
		return nil, errors.New("io.EOF without a terminal chunk")
	}
	out.Text = text.String()
	if len(calls) > 0 {
		idx := make([]int, 0, len(calls))
		for i := range calls {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		var parts []providers.Part
		if out.Text != "" {
			parts = append(parts, providers.TextPart(out.Text))
		}
		for _, i := range idx {
			parts = append(parts, providers.Part{Kind: providers.PartToolCall, ToolCall: calls[i]})
		}
		out.Parts = &parts
	}
	return &out, nil
}

// ToolCallPart is a tool-call part, for wanted answers.
func ToolCallPart(id, name, args string) providers.Part {
	return providers.Part{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: id, Name: name, Arguments: args}}
}

// PartsOf is parts as a Response's Parts.
func PartsOf(parts ...providers.Part) *[]providers.Part { return &parts }

func partsString(parts []providers.Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("[" + p.Kind.String() + " " + p.Text)
		if tc := p.ToolCall; tc != nil {
			b.WriteString(tc.ID + " " + tc.Name + " " + tc.Arguments)
		}
		b.WriteString("]")
	}
	return b.String()
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
