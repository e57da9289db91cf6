package compat_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// TestGatewayProvidersReadCompatibleAPI points the gateway's own OpenAI and
// Anthropic provider backends, whose parsers were built against recorded
// bodies of the real APIs, at the compatible endpoints: each must read the
// unary answer and the event stream as it reads the vendor's.
func TestGatewayProvidersReadCompatibleAPI(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct{ kind, baseURL string }{
		{"openai", g.url + "/v1"},
		{"anthropic", g.url},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			p, err := providers.New(providers.Settings{Name: "gw", Kind: tc.kind, BaseURL: tc.baseURL, APIKey: "unused"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req := &providers.Request{Model: "career_advice", MaxTokens: 7, User: "u1",
				Messages: []providers.Message{{Role: providers.RoleSystem, Content: "Be brief."}, {Role: providers.RoleUser, Content: "Hi"}}}
			resp, err := p.Complete(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(strings.Fields(resp.Text)) != 7 || resp.FinishReason != providers.FinishLength ||
				resp.Usage.OutputTokens != 7 || resp.Usage.InputTokens <= 0 || resp.ID == "" ||
				(resp.Model != "gpt-4o-mini" && resp.Model != "claude-3-5-haiku-latest") {
				t.Fatalf("unary: %+v", resp)
			}
			st, err := p.Stream(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			var text strings.Builder
			var last providers.Chunk
			for {
				c, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				text.WriteString(c.Delta)
				last = c
			}
			if !last.Done || last.FinishReason != providers.FinishLength || last.Usage.OutputTokens != 7 ||
				last.Usage.InputTokens <= 0 || len(strings.Fields(text.String())) != 7 {
				t.Fatalf("stream: %+v, text %q", last, text.String())
			}
		})
	}
}
