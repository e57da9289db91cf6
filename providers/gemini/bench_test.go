package gemini

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// BenchmarkStream parses the recorded three-event stream.
func BenchmarkStream(b *testing.B) {
	data, err := os.ReadFile("testdata/stream.sse")
	if err != nil {
		b.Fatal(err)
	}
	p := &Provider{name: "bench"}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		ps := newParser(bytes.NewReader(data), p)
		for {
			if _, err := ps.next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// BenchmarkResponse parses the recorded unary answer.
func BenchmarkResponse(b *testing.B) {
	data, err := os.ReadFile("testdata/generate_content.json")
	if err != nil {
		b.Fatal(err)
	}
	p := &Provider{name: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.parseResponse(data); err != nil {
			b.Fatal(err)
		}
	}
}
