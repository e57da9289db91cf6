package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// FuzzParseStream feeds arbitrary bytes to the stream parser: it must never
// panic, and must end either with a Done chunk followed by io.EOF or with a
// *providers.Error.
func FuzzParseStream(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sse"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "data: [DONE]\n\n", "data: [DONE]", "data:[DONE]\r\n\r\n", ": ping\n\n",
		"data: {}\n\ndata: [DONE]\n\n", "data: {\"choices\":null,\"usage\":null}\n\ndata: [DONE]\n\n",
		"data: {\"error\":\"boom\"}\n\n", "data: {\"error\":{\"code\":429}}\n\n", "event: error\ndata: x\n\n",
		"data: {\"id\":\"a\\u00e9\",\"model\":\"m\\\"\",\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":1}}]}\n\n", "data: {\"id\":1}\n\n", "data: {\"usage\":{\"prompt_tokens\":\"x\"}}\n\n",
		"data: {\"choices\":[{},{}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n\ndata: [DONE]\n\n",
	} {
		f.Add([]byte(s))
	}
	p := &Provider{name: "fuzz", key: "sk-fuzz-KEY"}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStream(context.Background(), p, io.NopCloser(bytes.NewReader(data)), func() {})
		defer func() { _ = s.Close() }()
		done := false
		for i := 0; ; i++ {
			if i > len(data)+2 {
				t.Fatalf("more chunks (%d) than input bytes", i)
			}
			c, err := s.Recv()
			if errors.Is(err, io.EOF) {
				if !done {
					t.Fatal("io.EOF without a Done chunk")
				}
				return
			}
			if err != nil {
				var pe *providers.Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %T %v is not a *providers.Error", err, err)
				}
				if done {
					t.Fatalf("error %v after the Done chunk", err)
				}
				if _, again := s.Recv(); !errors.Is(again, err) {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				return
			}
			if done {
				t.Fatalf("chunk %+v after the Done chunk", c)
			}
			if c.Done {
				done = true
				continue
			}
			if c.Delta == "" && c.ToolCall == nil {
				t.Fatalf("empty chunk %+v", c)
			}
		}
	})
}
