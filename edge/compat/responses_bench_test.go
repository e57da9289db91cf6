package compat

import (
	"testing"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

func BenchmarkDecodeResponses(b *testing.B) {
	body := []byte(responsesBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, aerr := decodeResponses(body); aerr != nil {
			b.Fatal(aerr)
		}
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	_, opts, aerr := decodeResponses([]byte(`{"model": "career_advice", "input": "Hi"}`))
	if aerr != nil {
		b.Fatal(aerr)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendResponse(buf[:0], benchResponse, opts)
	}
}

// BenchmarkResponsesStreamDelta is the per-token cost of a Responses
// stream's response.output_text.delta event.
func BenchmarkResponsesStreamDelta(b *testing.B) {
	_, opts, aerr := decodeResponses([]byte(`{"model": "career_advice", "input": "Hi", "stream": true}`))
	if aerr != nil {
		b.Fatal(aerr)
	}
	ev := newResponseEvents(opts)
	buf := ev.start(make([]byte, 0, 4096))
	msg := &gatewayv1.StreamResponse{Delta: " pipeline"}
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.message(buf[:0], msg)
	}
}
