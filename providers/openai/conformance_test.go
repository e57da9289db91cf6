package openai_test

import (
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/openai"
	"github.com/careerpath/llmgateway/providers/providertest"
)

// TestConformance runs the provider suite for both kinds this package
// registers, from the bodies recorded in testdata.
func TestConformance(t *testing.T) {
	for kind, build := range map[string]func(providers.Settings) (*openai.Provider, error){
		openai.KindOpenAI:     openai.New,
		openai.KindCompatible: openai.NewCompatible,
	} {
		t.Run(kind, func(t *testing.T) {
			kit := Kit(t)
			kit.New = func(t *testing.T, o providertest.Options) providers.Provider {
				p, err := build(providers.Settings{Name: "conformance", BaseURL: o.BaseURL + "/v1", APIKey: o.APIKey, Timeout: o.Timeout})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			providertest.Run(t, kit)
		})
	}
}

// Kit is the Chat Completions cassettes and what the backend must make of
// them; the simulator runs the suite with its own recordings.
func Kit(t *testing.T) providertest.Kit {
	cassette := func(status int, name string) providertest.Cassette {
		return providertest.Load(t, "testdata", status, name)
	}
	return providertest.Kit{
		Path: "/v1/chat/completions",
		Complete: providertest.Answer{
			Cassette: cassette(200, "chat_completion.json"),
			Want: providers.Response{
				ID: "chatcmpl-BX3ZqE0fPvG5kRl1yH7t2mWcJd9aN", Model: "gpt-4o-mini-2024-07-18",
				Text: "A data analyst can move into data engineering by learning SQL performance tuning, Python, " +
					"and an orchestration tool such as Airflow.\n\n1. Build one end-to-end pipeline.\n2. Learn \"dbt\" for modelling.",
				FinishReason: providers.FinishStop,
				Usage:        providers.Usage{InputTokens: 1180, OutputTokens: 52, CachedInputTokens: 1024},
			},
		},
		Stream: providertest.Answer{
			Cassette: cassette(200, "stream_usage_after_finish.sse"),
			Want: providers.Response{
				ID: "chatcmpl-BX3bC2lr0Zx5UoR3vAs8MnWgId4eF", Model: "gpt-4o-mini-2024-07-18",
				Text: "Mentorship programs help junior", FinishReason: providers.FinishLength,
				Usage: providers.Usage{InputTokens: 2048, OutputTokens: 5, CachedInputTokens: 1920},
			},
		},
		Errors: map[providertest.Class]providertest.Cassette{
			providertest.RateLimited:   cassette(429, "error_rate_limit.json"),
			providertest.Overloaded:    cassette(503, "error_overloaded.json"),
			providertest.BadRequest:    cassette(400, "error_invalid_request.json"),
			providertest.Auth:          cassette(401, "error_invalid_api_key.json"),
			providertest.ContextLength: cassette(400, "error_context_length.json"),
			providertest.Server:        cassette(500, "error_server.json"),
			providertest.Malformed:     cassette(502, "bad_gateway.html"),
			providertest.Quota:         cassette(429, "error_insufficient_quota.json"),
		},
		// OpenAI answers exhausted credit with a 429; the code
		// insufficient_quota tells it from a rate limit.
		Truncated:   cassette(200, "stream_truncated.sse"),
		StreamError: cassette(200, "stream_error.sse"),
	}
}
