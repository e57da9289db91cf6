package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/providertest"
)

// FuzzToolCallAssembly streams two calls whose argument fragments are cut
// and interleaved as the input says, and checks that assembling the chunks
// by index gives back both calls exactly.
func FuzzToolCallAssembly(f *testing.F) {
	f.Add(`{"title":"data engineer"}`, `{"city":"Berlin","n":3}`, []byte{1, 2, 3, 0, 7, 5})
	f.Add(`{}`, `{"a":"\u00e9\"x"}`, []byte{})
	f.Add("", `{"q":[1,2]}`, []byte{255, 0, 1})
	p := &Provider{name: "fuzz", key: "sk-fuzz-KEY"}
	f.Fuzz(func(t *testing.T, a, b string, plan []byte) {
		// Vendors cut arguments between characters, never inside one.
		args := [2]string{strings.ToValidUTF8(a, "?"), strings.ToValidUTF8(b, "?")}
		var sse bytes.Buffer
		event := func(calls ...map[string]any) {
			delta, _ := json.Marshal(map[string]any{"tool_calls": calls})
			sse.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":`)
			sse.Write(delta)
			sse.WriteString(`,"finish_reason":null}]}` + "\n\n")
		}
		event(
			map[string]any{"index": 0, "id": "call_0", "type": "function", "function": map[string]any{"name": "f0", "arguments": ""}},
			map[string]any{"index": 1, "id": "call_1", "type": "function", "function": map[string]any{"name": "f1", "arguments": ""}},
		)
		var off [2]int
		for _, step := range plan {
			i := int(step & 1)
			n := int(step>>1) % 8
			end := min(off[i]+n, len(args[i]))
			for end < len(args[i]) && !utf8.RuneStart(args[i][end]) {
				end++
			}
			event(map[string]any{"index": i, "function": map[string]any{"arguments": args[i][off[i]:end]}})
			off[i] = end
		}
		for i := range args {
			event(map[string]any{"index": i, "function": map[string]any{"arguments": args[i][off[i]:]}})
		}
		sse.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\ndata: [DONE]\n\n")
		s := newStream(context.Background(), p, io.NopCloser(&sse), func() {})
		defer func() { _ = s.Close() }()
		got, err := providertest.Assemble(s)
		if err != nil {
			t.Fatalf("Assemble: %v", err)
		}
		parts := got.PartList()
		if len(parts) != 2 {
			t.Fatalf("parts = %+v", parts)
		}
		for i, part := range parts {
			want := providers.ToolCall{ID: "call_" + strconv.Itoa(i), Name: "f" + strconv.Itoa(i), Arguments: args[i]}
			if *part.ToolCall != want {
				t.Errorf("call %d = %+v, want %+v", i, *part.ToolCall, want)
			}
		}
	})
}
