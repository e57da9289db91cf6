package anthropic_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/careerpath/llmgateway/providers"
	_ "github.com/careerpath/llmgateway/providers/anthropic" // registers "anthropic"
)

// A provider is built by kind from its settings and streams an answer
// chunk by chunk; the last chunk carries the finish reason and usage.
func Example() {
	transcript, _ := os.ReadFile(filepath.Join("testdata", "stream.sse"))
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(transcript)
	}))
	defer fake.Close()

	p, err := providers.New(providers.Settings{
		Name:    "anthropic",
		Kind:    "anthropic",
		BaseURL: fake.URL, // default: https://api.anthropic.com
		APIKey:  "sk-ant-example",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.Stream(context.Background(), &providers.Request{
		Model: "claude-sonnet-4-20250514",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You are a career coach."},
			{Role: providers.RoleUser, Content: "What should I do next?"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = s.Close() }()
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("error:", providers.KindOf(err))
			return
		}
		if c.Done {
			fmt.Printf("\n%s, %d input tokens (%d cached), %d output tokens\n",
				c.FinishReason, c.Usage.InputTokens, c.Usage.CachedInputTokens, c.Usage.OutputTokens)
			continue
		}
		fmt.Print(c.Delta)
	}
	// Output:
	// Build one end-to-end pipeline project, then write about it.
	// stop, 1233 input tokens (1024 cached), 15 output tokens
}
