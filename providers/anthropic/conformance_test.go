package anthropic_test

import (
	"bytes"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/anthropic"
	"github.com/careerpath/llmgateway/providers/providertest"
)

// TestConformance runs the provider suite from the bodies recorded in
// testdata.
func TestConformance(t *testing.T) {
	kit := Kit(t)
	kit.New = func(t *testing.T, o providertest.Options) providers.Provider {
		p, err := anthropic.New(providers.Settings{Name: "conformance", BaseURL: o.BaseURL, APIKey: o.APIKey, Timeout: o.Timeout})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	providertest.Run(t, kit)
}

// Kit is the Messages API cassettes and what the backend must make of
// them; the simulator runs the suite with its own recordings.
func Kit(t *testing.T) providertest.Kit {
	cassette := func(status int, name string) providertest.Cassette {
		return providertest.Load(t, "testdata", status, name)
	}
	// The recorded stream, cut before its last event.
	stream := cassette(200, "stream.sse").Body
	cut, _, found := bytes.Cut(stream, []byte("event: message_stop"))
	if !found {
		t.Fatal("stream.sse has no message_stop")
	}
	return providertest.Kit{
		Path: "/v1/messages",
		Complete: providertest.Answer{
			Cassette: cassette(200, "message.json"),
			Want: providers.Response{
				ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "claude-sonnet-4-20250514",
				Text: "A strong next step toward a data engineering role is to build one end-to-end pipeline project: " +
					"ingest a public dataset, model it in a warehouse, and schedule it with an orchestrator.",
				FinishReason: providers.FinishStop,
				Usage:        providers.Usage{InputTokens: 21 + 188 + 1024, OutputTokens: 42, CachedInputTokens: 1024, CacheCreationInputTokens: 188},
			},
		},
		Stream: providertest.Answer{
			Cassette: providertest.Cassette{Body: stream},
			Want: providers.Response{
				ID: "msg_01Lm5jUz9QD2fJdrkfo2gM7b", Model: "claude-sonnet-4-20250514",
				Text: "Build one end-to-end pipeline project, then write about it.", FinishReason: providers.FinishStop,
				Usage: providers.Usage{InputTokens: 21 + 188 + 1024, OutputTokens: 15, CachedInputTokens: 1024, CacheCreationInputTokens: 188},
			},
		},
		Errors: map[providertest.Class]providertest.Cassette{
			providertest.RateLimited:   cassette(429, "errors/rate_limit.json"),
			providertest.Overloaded:    cassette(529, "errors/overloaded.json"),
			providertest.BadRequest:    cassette(400, "errors/invalid_request.json"),
			providertest.Auth:          cassette(401, "errors/authentication_error.json"),
			providertest.ContextLength: cassette(400, "errors/prompt_too_long.json"),
			providertest.Server:        cassette(500, "errors/api_error.json"),
			providertest.Malformed:     cassette(502, "errors/bad_gateway.html"),
			providertest.Quota:         cassette(402, "errors/billing_error.json"),
		},
		Truncated:   providertest.Cassette{Body: cut},
		StreamError: cassette(200, "stream_error.sse"),
	}
}
