package compat

import (
	"strings"
	"testing"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// longConversation is a conversation of 40 turns of 500 bytes each, as
// each API writes it.
func longConversation(responses bool) string {
	turn := strings.Repeat("Tell me more about data pipelines and SQL. ", 12)
	var sb strings.Builder
	for i := range 40 {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		if responses && role == "user" {
			sb.WriteString(`{"role": "user", "content": [{"type": "input_text", "text": "` + turn + `"}]}`)
		} else {
			sb.WriteString(`{"role": "` + role + `", "content": "` + turn + `"}`)
		}
	}
	if responses {
		return `{"model": "career_advice", "input": [` + sb.String() + `]}`
	}
	return `{"model": "career_advice", "messages": [` + sb.String() + `]}`
}

func BenchmarkDecodeLong(b *testing.B) {
	for name, dec := range map[string]func([]byte) *apiError{
		"chat":      func(body []byte) *apiError { _, _, aerr := decodeChat(body); return aerr },
		"responses": func(body []byte) *apiError { _, _, aerr := decodeResponses(body); return aerr },
	} {
		body := []byte(longConversation(name == "responses"))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if aerr := dec(body); aerr != nil {
					b.Fatal(aerr)
				}
			}
		})
	}
}

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
