package gemini_test

import (
	"bytes"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/gemini"
	"github.com/careerpath/llmgateway/providers/providertest"
)

// TestConformance runs the provider suite from the bodies recorded in
// testdata.
func TestConformance(t *testing.T) {
	kit := Kit(t)
	kit.New = func(t *testing.T, o providertest.Options) providers.Provider {
		p, err := gemini.New(providers.Settings{Name: "conformance", BaseURL: o.BaseURL + "/v1beta", APIKey: o.APIKey, Timeout: o.Timeout})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	providertest.Run(t, kit)
}

// Kit is the Gemini API cassettes and what the backend must make of them.
func Kit(t *testing.T) providertest.Kit {
	cassette := func(status int, name string) providertest.Cassette {
		return providertest.Load(t, "testdata", status, name)
	}
	stream := cassette(200, "stream.sse").Body
	// The recorded stream, cut before the event carrying finishReason.
	i := bytes.LastIndex(stream, []byte("data: "))
	if i < 0 || !bytes.Contains(stream[i:], []byte(`"finishReason"`)) {
		t.Fatal("stream.sse does not end with a finishReason event")
	}
	return providertest.Kit{
		Path:        "/v1beta/models/" + providertest.Model + ":generateContent",
		StreamPath:  "/v1beta/models/" + providertest.Model + ":streamGenerateContent",
		ModelInPath: true,
		Complete: providertest.Answer{
			Cassette: cassette(200, "generate_content.json"),
			Want: providers.Response{
				ID: "7aAwab3kDLGqz7IPqN2ZsQ4", Model: "gemini-2.5-flash",
				Text: "A strong next step toward a data engineering role is to build one end-to-end pipeline project: " +
					"ingest a public dataset, model it in a warehouse, and schedule it with an orchestrator.",
				FinishReason: providers.FinishStop,
				Usage:        providers.Usage{InputTokens: 1236, OutputTokens: 38 + 216, CachedInputTokens: 1024, ReasoningTokens: 216},
			},
		},
		Stream: providertest.Answer{
			Cassette: providertest.Cassette{Body: stream},
			Want: providers.Response{
				ID: "8aAwacnIJ6TZz7IP3Yq4wQ0", Model: "gemini-2.5-flash",
				Text: "Build one end-to-end pipeline project, then write about it.", FinishReason: providers.FinishStop,
				Usage: providers.Usage{InputTokens: 1236, OutputTokens: 13 + 216, CachedInputTokens: 1024, ReasoningTokens: 216},
			},
		},
		Errors: map[providertest.Class]providertest.Cassette{
			providertest.RateLimited:   cassette(429, "errors/rate_limit.json"),
			providertest.Overloaded:    cassette(503, "errors/unavailable.json"),
			providertest.BadRequest:    cassette(400, "errors/invalid_argument.json"),
			providertest.Auth:          cassette(400, "errors/api_key_invalid.json"),
			providertest.ContextLength: cassette(400, "errors/context_length.json"),
			providertest.Server:        cassette(500, "errors/internal.json"),
			providertest.Malformed:     cassette(502, "errors/bad_gateway.html"),
		},
		Truncated:   providertest.Cassette{Body: stream[:i]},
		StreamError: cassette(200, "stream_error.sse"),
	}
}
