package compat

import (
	"testing"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

func BenchmarkDecodeChat(b *testing.B) {
	body := []byte(chatBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, aerr := decodeChat(body); aerr != nil {
			b.Fatal(aerr)
		}
	}
}

func BenchmarkDecodeMessages(b *testing.B) {
	body := []byte(messagesBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, aerr := decodeMessages(body); aerr != nil {
			b.Fatal(aerr)
		}
	}
}

var benchResponse = &gatewayv1.CompleteResponse{
	Id: "chatcmpl-BX3ZqE0fPvG5kRl1yH7t2mWcJd9aN", Model: "gpt-4o-mini-2024-07-18",
	Text: "A data analyst can move into data engineering by learning SQL performance tuning, Python, and an " +
		"orchestration tool such as Airflow.\n\n1. Build one end-to-end pipeline.\n2. Learn \"dbt\" for modelling.",
	FinishReason: gatewayv1.FinishReason_FINISH_REASON_STOP,
	Usage:        &gatewayv1.Usage{InputTokens: 1180, OutputTokens: 52, CachedInputTokens: 1024},
}

func BenchmarkAppendChatCompletion(b *testing.B) {
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendChatCompletion(buf[:0], benchResponse, "career_advice", 1747400000)
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendMessage(buf[:0], benchResponse, "career_advice")
	}
}

// BenchmarkStreamDelta is the per-token cost of each API's stream event.
func BenchmarkStreamDelta(b *testing.B) {
	opts := streamOptions{model: "career_advice", created: 1747400000, includeUsage: true}
	for name, ev := range map[string]events{"openai": newChatChunks(opts), "anthropic": newMessageEvents(opts)} {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			msg := &gatewayv1.StreamResponse{Delta: " pipeline"}
			b.ReportAllocs()
			for b.Loop() {
				buf = ev.message(buf[:0], msg)
			}
		})
	}
}
