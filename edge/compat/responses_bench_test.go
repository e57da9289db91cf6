package compat

import (
	"testing"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

func BenchmarkDecodeResponses(b *testing.B) {
	for name, body := range map[string]string{
		"text": `{"model": "career_advice", "instructions": "You are a career coach.", "safety_identifier": "user-42",
			"temperature": 0.7, "max_output_tokens": 600, "store": false, "input": "How do I move into data engineering?"}`,
		"rich": responsesBody,
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, aerr := decodeResponses([]byte(body)); aerr != nil {
					b.Fatal(aerr)
				}
			}
		})
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
