package sim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers/sim"
)

const benchChatBody = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a career coach."},` +
	`{"role":"user","content":"What should I learn next to become a staff engineer?"}],"max_tokens":64,"temperature":0.2}`

func benchServe(b *testing.B, path, body string) {
	srv := sim.New(sim.Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	r := bytes.NewReader(nil)
	for b.Loop() {
		r.Reset([]byte(body))
		req := httptest.NewRequest(http.MethodPost, path, r)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkServeChatCompletion is the handler's cost for one small unary
// OpenAI request, without the network. Note that httptest.NewRequest and
// NewRecorder account for part of the allocations.
func BenchmarkServeChatCompletion(b *testing.B) {
	benchServe(b, sim.PathChatCompletions, benchChatBody)
}

func BenchmarkServeMessages(b *testing.B) {
	benchServe(b, sim.PathMessages, `{"model":"claude-3-5-haiku-latest","max_tokens":64,"system":"You are a career coach.",`+
		`"messages":[{"role":"user","content":"What should I learn next to become a staff engineer?"}]}`)
}

func BenchmarkServeChatCompletionStream(b *testing.B) {
	benchServe(b, sim.PathChatCompletions, strings.Replace(benchChatBody, `{`, `{"stream":true,"stream_options":{"include_usage":true},`, 1))
}

// FuzzServeRequest feeds arbitrary bodies to both wire endpoints: the
// answer must be 200 or 400 and, when not a stream, valid JSON.
func FuzzServeRequest(f *testing.F) {
	f.Add(benchChatBody)
	f.Add(messagesBody)
	f.Add(chatStreamBody)
	f.Add(`{"model":"m","max_tokens":3,"messages":[{"role":"user","content":[{"type":"text","text":"\u00e9\n"}]}]}`)
	f.Add(`{"model":"\u0000\"","messages":[{"role":"user","content":null}],"max_tokens":1e3}`)
	srv := sim.New(sim.Config{AnswerTokens: 8})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{sim.PathChatCompletions, sim.PathMessages} {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
			if rec.Code != 200 && rec.Code != 400 {
				t.Fatalf("%s: status %d for %q", path, rec.Code, body)
			}
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: invalid JSON %q for %q", path, rec.Body, body)
			}
		}
	})
}
