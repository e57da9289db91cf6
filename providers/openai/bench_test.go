package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

func benchRequest() *providers.Request {
	temp := 0.7
	return &providers.Request{
		Model: "gpt-4o-mini",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: strings.Repeat("You are a career coach for software engineers. ", 20)},
			{Role: providers.RoleUser, Content: "I have five years of experience as a \"data analyst\" and want to move into data engineering.\nWhat should I learn first?"},
		},
		MaxTokens:   512,
		Temperature: &temp,
		User:        "u-7f3a9c",
	}
}

func BenchmarkTranslateRequest(b *testing.B) {
	p, err := New(providers.Settings{Name: "bench", APIKey: "sk-bench"})
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest()
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		body, _ := p.encode(req, true)
		b.SetBytes(int64(len(body.b)))
		body.release()
		for b.Loop() {
			body, err := p.encode(req, true)
			if err != nil {
				b.Fatal(err)
			}
			body.release()
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		// The reflection-based baseline the hand-written encoder replaces.
		type msg struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		type wire struct {
			Model         string   `json:"model"`
			Messages      []msg    `json:"messages"`
			MaxTokens     int      `json:"max_completion_tokens,omitempty"`
			Temperature   *float64 `json:"temperature,omitempty"`
			User          string   `json:"user,omitempty"`
			Stream        bool     `json:"stream,omitempty"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options,omitempty"`
		}
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			w := wire{Model: req.Model, MaxTokens: req.MaxTokens, Temperature: req.Temperature, User: req.User, Stream: true}
			w.Messages = make([]msg, len(req.Messages))
			for i, m := range req.Messages {
				w.Messages[i] = msg{string(m.Role), m.Content}
			}
			buf.Reset()
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(&w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http_request", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		for b.Loop() {
			body, err := p.encode(req, true)
			if err != nil {
				b.Fatal(err)
			}
			hreq, err := p.newHTTPRequest(ctx, body, true)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, hreq.Body)
			_ = hreq.Body.Close()
			body.release()
		}
	})
}

// syntheticStream is an OpenAI-shaped transcript of n content chunks.
func syntheticStream(n int) []byte {
	var b bytes.Buffer
	const head = `data: {"id":"chatcmpl-BX3aB1kq9Yw4TnQ2uZr7LmVfHc3dE","object":"chat.completion.chunk","created":1747400100,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_34a54ae93c","choices":[`
	b.WriteString(head + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"iY4hMw"}` + "\n\n")
	words := []string{" career", " growth", " means", " learning", " SQL", ",", " Python", " and", " \\\"dbt\\\"", ".\\n"}
	for i := range n {
		fmt.Fprintf(&b, head+`{"index":0,"delta":{"content":"%s"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"k1x"}`+"\n\n", words[i%len(words)])
	}
	b.WriteString(head + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"Qm"}` + "\n\n")
	b.WriteString(head + `],"usage":{"prompt_tokens":25,"completion_tokens":200,"total_tokens":225,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":""}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

func BenchmarkParseStream(b *testing.B) {
	recorded, err := os.ReadFile("testdata/stream.sse")
	if err != nil {
		b.Fatal(err)
	}
	p := &Provider{name: "bench"}
	for _, tc := range []struct {
		name string
		data []byte
	}{{"recorded_7_chunks", recorded}, {"synthetic_200_chunks", syntheticStream(200)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.data)))
			r := bytes.NewReader(tc.data)
			chunks := 0
			for b.Loop() {
				r.Reset(tc.data)
				s := newStream(context.Background(), p, io.NopCloser(r), func() {})
				for {
					c, err := s.Recv()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if c.Done && c.Usage.OutputTokens == 0 {
						b.Fatal("no usage")
					}
					chunks++
				}
				_ = s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
		})
	}
}

func BenchmarkParseCompletion(b *testing.B) {
	body, err := os.ReadFile("testdata/chat_completion.json")
	if err != nil {
		b.Fatal(err)
	}
	p := &Provider{name: "bench"}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := p.parseCompletion(body, resp); err != nil {
			b.Fatal(err)
		}
	}
}
