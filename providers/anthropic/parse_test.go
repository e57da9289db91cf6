package anthropic

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// FuzzParseStream feeds arbitrary bytes to the stream parser: it must never
// panic, and must end with io.EOF after exactly one Done chunk or with a
// typed error.
func FuzzParseStream(f *testing.F) {
	for _, name := range []string{"stream.sse", "stream_cumulative.sse", "stream_error.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("event: message_stop\ndata: {}\n\n"))
	f.Add([]byte("data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":-1}}\n\n"))
	f.Add([]byte("data: {\"type\":\"error\",\"error\":null}\n\n"))
	p := &Provider{name: "fuzz", text: providers.Redactor{Key: fakeKey, KeyPrefix: keyPrefix}}
	f.Fuzz(func(t *testing.T, in []byte) {
		ps := newParser(bytes.NewReader(in), p, false)
		done := false
		for i := 0; ; i++ {
			if i > len(in)+2 {
				t.Fatal("parser does not make progress")
			}
			c, err := ps.next()
			if err == io.EOF { //nolint:errorlint // must be the bare sentinel
				if !done {
					t.Fatal("io.EOF without a Done chunk")
				}
				return
			}
			if err != nil {
				var pe *providers.Error
				if !errors.As(err, &pe) {
					t.Fatalf("untyped error %T %v", err, err)
				}
				if errors.Is(err, io.EOF) {
					t.Fatalf("error %v wraps io.EOF: callers would take it for a clean end", err)
				}
				if done {
					t.Fatalf("error %v after Done", err)
				}
				return
			}
			if done {
				t.Fatal("chunk after Done")
			}
			if c.Done {
				done = true
				if c.Usage.InputTokens < 0 || c.Usage.OutputTokens < 0 {
					t.Fatalf("negative usage %+v", c.Usage)
				}
			} else if c.Delta == "" && c.ToolCall == nil && c.Thinking == nil {
				t.Fatal("empty chunk")
			}
		}
	})
}

// BenchmarkParseStream parses the recorded transcript, the hot path of a
// streamed answer.
func BenchmarkParseStream(b *testing.B) {
	transcript, err := os.ReadFile(filepath.Join("testdata", "stream.sse"))
	if err != nil {
		b.Fatal(err)
	}
	p := &Provider{name: "bench"}
	rd := bytes.NewReader(transcript)
	b.SetBytes(int64(len(transcript)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(transcript)
		ps := newParser(rd, p, false)
		for {
			_, err := ps.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTranslateRequest encodes a typical multi-turn request into a
// reused buffer, as the pooled path does.
func BenchmarkTranslateRequest(b *testing.B) {
	req := goldenRequests()[0].req
	p := &Provider{name: "bench", maxTokens: DefaultMaxTokens}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, _, err = p.appendRequest(buf[:0], &req, true)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkTranslateRequestPooled includes taking and releasing the pooled
// buffer.
func BenchmarkTranslateRequestPooled(b *testing.B) {
	req := goldenRequests()[0].req
	p := &Provider{name: "bench", maxTokens: DefaultMaxTokens}
	b.ReportAllocs()
	for b.Loop() {
		rb, _, err := p.encode(&req, true)
		if err != nil {
			b.Fatal(err)
		}
		rb.release()
	}
}
