package compat_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkCompatibleAPI is one request through the whole path, over real
// sockets: HTTP in, JSON translated, the in-process call through the interceptor
// chain, the provider backend against an instant simulator, and the
// answer written back in the vendor's format.
func BenchmarkCompatibleAPI(b *testing.B) {
	for _, bc := range []struct{ name, path, body string }{
		{"openai", "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`},
		{"openai_stream", "/v1/chat/completions", `{"model": "openai_only", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`},
		{"responses", "/v1/responses", `{"model": "openai_only", "input": "Hi"}`},
		{"responses_stream", "/v1/responses", `{"model": "openai_only", "stream": true, "input": "Hi"}`},
		// The REST shim's same request, for comparison.
		{"rest_shim", "/v1/complete", `{"route": "openai_only", "messages": [{"role": "ROLE_USER", "content": "Hi"}]}`},
		{"anthropic", "/v1/messages", `{"model": "anthropic_only", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := startGateway(b, nil)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, g.url+bc.path, strings.NewReader(bc.body))
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
