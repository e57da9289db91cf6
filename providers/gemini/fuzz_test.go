package gemini

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// FuzzStream feeds arbitrary bytes to the stream parser: it must never
// panic, and must end in io.EOF only after exactly one terminal chunk.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"testdata/stream.sse", "testdata/stream_error.sse"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]},\"finishReason\":\"STOP\"}]}\n\n"))
	p := &Provider{name: "fuzz", text: providers.Redactor{Key: "AIzaFUZZ", KeyPrefix: keyPrefix}}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := newParser(bytes.NewReader(data), p)
		done := 0
		for range 10000 {
			c, err := ps.next()
			if errors.Is(err, io.EOF) {
				if done != 1 {
					t.Fatalf("io.EOF after %d terminal chunks", done)
				}
				return
			}
			if err != nil {
				if _, ok := providers.AsError(err); !ok {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if c.Done {
				done++
			}
		}
	})
}

// FuzzResponse feeds arbitrary bodies to the unary parser: never a panic,
// and an answer or a typed error.
func FuzzResponse(f *testing.F) {
	b, err := os.ReadFile("testdata/generate_content.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`))
	p := &Provider{name: "fuzz"}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := p.parseResponse(body)
		if err != nil {
			if _, ok := providers.AsError(err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if r == nil {
			t.Fatal("nil answer without an error")
		}
	})
}
