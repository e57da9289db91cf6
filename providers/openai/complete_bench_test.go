package openai_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/openai"
)

// BenchmarkCompleteOverHTTP is one Complete against a loopback server
// answering a recorded chat completion: encoding, the HTTP exchange and
// parsing, as the gateway pays them on every cache miss.
func BenchmarkCompleteOverHTTP(b *testing.B) {
	answer, err := os.ReadFile("testdata/chat_completion.json")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [4096]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	srv.Start()
	defer srv.Close()
	p, err := openai.New(providers.Settings{Name: "bench", Kind: openai.KindOpenAI, APIKey: "sk-bench", BaseURL: srv.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	req := &providers.Request{Model: "gpt-4o-mini", Messages: []providers.Message{
		{Role: providers.RoleUser, Content: "How do I move from QA into data engineering?"},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Complete(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
