package openai_test

import (
	"encoding/json"
	"os"
	"path/filepath"
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
		Rich:        richCases(t),
	}
}

// The tools of the rich cases.
var (
	searchJobs = providers.Tool{Name: "search_jobs", Description: "Search open positions.", Parameters: json.RawMessage(
		`{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string"}},"required":["title","city"],"additionalProperties":false}`)}
	getSalary = providers.Tool{Name: "get_salary", Description: "Median salary of a role in a city.", Parameters: json.RawMessage(
		`{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string"}},"required":["title","city"]}`)}
)

// richCases are the tools, tool results, JSON answers and images, each
// with the body OpenAI's reference gives for it.
func richCases(t *testing.T) []providertest.RichCase {
	golden := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		return rec.Body
	}
	cassette := func(name string) providertest.Cassette { return providertest.Load(t, "testdata", 200, name) }
	ask := []providers.Message{
		{Role: providers.RoleSystem, Content: "You are a career coach."},
		{Role: providers.RoleUser, Content: "Find data engineering jobs in Berlin."},
	}
	no := false
	call := providertest.ToolCallPart("call_Qm3uXo8bT1kLr5vHs2nYc9Dp", "search_jobs", `{"title":"data engineer","city":"Berlin"}`)
	schema := json.RawMessage(`{"type":"object","properties":{"role":{"type":"string"},"skills":{"type":"array","items":{"type":"string"}},"months":{"type":"integer"}},"required":["role","skills","months"],"additionalProperties":false}`)
	return []providertest.RichCase{{
		Name: "ToolCall",
		Request: &providers.Request{Model: "gpt-4o", Messages: ask, Tools: []providers.Tool{searchJobs, getSalary},
			ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceAuto}, ParallelToolCalls: &no},
		WantBody: golden("request_tools.golden.json"),
		Answer: providertest.Answer{Cassette: cassette("tool_call.json"), Want: providers.Response{
			ID: "chatcmpl-BZk7mT4yXq2VnR8sLp0dHf3Wg6aJc", Model: "gpt-4o-2024-08-06",
			Parts: providertest.PartsOf(call), FinishReason: providers.FinishToolCalls,
			Usage: providers.Usage{InputTokens: 142, OutputTokens: 24},
		}},
	}, {
		Name:   "StreamParallelToolCalls",
		Stream: true,
		Request: &providers.Request{Model: "gpt-4o", Messages: ask, Tools: []providers.Tool{searchJobs, getSalary},
			ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceRequired}},
		WantBody: golden("request_stream_tools.golden.json"),
		Answer: providertest.Answer{Cassette: cassette("stream_parallel_tool_calls.sse"), Want: providers.Response{
			ID: "chatcmpl-BZk9aF2wLm6TqY0rNc4vXs8Hd1Ue", Model: "gpt-4o-2024-08-06",
			Parts: providertest.PartsOf(
				providertest.ToolCallPart("call_Hx2pVt7kNq4sLm9rBc1wYd6E", "search_jobs", `{"title": "data engineer", "city": "Berlin"}`),
				providertest.ToolCallPart("call_Rw5nKc3bZj8fTq0mLs7vPa2G", "get_salary", `{"title": "data engineer", "city": "Berlin"}`),
			),
			FinishReason: providers.FinishToolCalls,
			Usage:        providers.Usage{InputTokens: 161, OutputTokens: 58},
		}},
	}, {
		Name: "ToolResult",
		Request: &providers.Request{Model: "gpt-4o", Tools: []providers.Tool{{Name: "search_jobs", Parameters: json.RawMessage(
			`{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string"}}}`)}},
			Messages: []providers.Message{
				ask[1],
				{Role: providers.RoleAssistant, Parts: []providers.Part{call}},
				{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{
					ToolCallID: "call_Qm3uXo8bT1kLr5vHs2nYc9Dp", Content: `["Zalando","N26","Delivery Hero"]`}}}},
			}},
		WantBody: golden("request_tool_result.golden.json"),
		Answer: providertest.Answer{Cassette: cassette("chat_completion_after_tool.json"), Want: providers.Response{
			ID: "chatcmpl-BZkB3nQ8vLc1XyT6mRp4Wd0Ks7Ha", Model: "gpt-4o-2024-08-06",
			Text:         "There are 3 open data engineer positions in Berlin; the best match is at Zalando.",
			FinishReason: providers.FinishStop,
			Usage:        providers.Usage{InputTokens: 2210, OutputTokens: 19, CachedInputTokens: 1920},
		}},
	}, {
		Name: "JSONSchema",
		Request: &providers.Request{Model: "o4-mini",
			Messages: []providers.Message{{Role: providers.RoleUser, Content: "Plan my move into data engineering."}},
			ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "career_plan",
				Description: "A plan for a career move.", Schema: schema, Strict: true},
			Reasoning: providers.Reasoning{Effort: providers.EffortLow}},
		WantBody: golden("request_json_schema.golden.json"),
		Answer: providertest.Answer{Cassette: cassette("json_schema.json"), Want: providers.Response{
			ID: "chatcmpl-BZkC8pW1tNs5YhK3vLr7Xm2Qe0Fb", Model: "o4-mini-2025-04-16",
			Text:         `{"role":"Data Engineer","skills":["SQL","Python","Airflow"],"months":9}`,
			FinishReason: providers.FinishStop,
			Usage:        providers.Usage{InputTokens: 96, OutputTokens: 412, ReasoningTokens: 384},
		}},
	}, {
		Name:   "StreamImages",
		Stream: true,
		Request: &providers.Request{Model: "gpt-4o-mini", Messages: []providers.Message{{Role: providers.RoleUser, Parts: []providers.Part{
			providers.TextPart("Compare these two résumés."),
			{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/resume-a.png"}},
			{Kind: providers.PartImage, Image: &providers.Image{Data: []byte("\x89PNG\r\n\x1a\n"), MediaType: "image/png"}},
		}}}},
		WantBody: golden("request_stream_image.golden.json"),
		Answer: providertest.Answer{Cassette: cassette("stream_image.sse"), Want: providers.Response{
			ID: "chatcmpl-BZkD2xR6mYq9TbL4nWc8Vs1Kf3Pe", Model: "gpt-4o-mini-2024-07-18",
			Text: "Both résumés list SQL first.", FinishReason: providers.FinishStop,
			Usage: providers.Usage{InputTokens: 1718, OutputTokens: 7},
		}},
	}}
}
