package anthropic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/anthropic"
	"github.com/careerpath/llmgateway/providers/providertest"
)

// TestRichGoldens rewrites the golden request bodies of the rich cases
// with go test -update; the conformance suite compares them.
func TestRichGoldens(t *testing.T) {
	if f := flag.Lookup("update"); f == nil || f.Value.String() != "true" {
		t.Skip("only with -update")
	}
	for _, c := range RichCases(t) {
		var body []byte
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusBadRequest)
		}))
		p, err := anthropic.New(providers.Settings{Name: "golden", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if c.Stream {
			_, err = p.Stream(context.Background(), c.Request)
		} else {
			_, err = p.Complete(context.Background(), c.Request)
		}
		srv.Close()
		if body == nil {
			t.Fatalf("%s: nothing sent: %v", c.Name, err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, body, "", "  "); err != nil {
			t.Fatal(err)
		}
		out.WriteByte('\n')
		if err := os.WriteFile(richGolden(c.Name), out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func richGolden(name string) string {
	return filepath.Join("testdata", "rich", "request_"+name+".golden.json")
}

var (
	objSchema  = json.RawMessage(`{"type":"object","properties":{"role":{"type":"string"},"skills":{"type":"array","items":{"type":"string"}}},"required":["role","skills"],"additionalProperties":false}`)
	searchJobs = providers.Tool{Name: "search_jobs", Description: "Search open job postings.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"},"location":{"type":"string"}},"required":["title"]}`)}
	salaryRange = providers.Tool{Name: "salary_range", Description: "Salary range of a role in a country.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"},"country":{"type":"string"}},"required":["title","country"]}`)}
)

func toolCall(id, name, args string) providers.Part {
	return providers.Part{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: id, Name: name, Arguments: args}}
}

func toolResult(id, content string, isErr bool) providers.Message {
	return providers.Message{Role: providers.RoleTool, Parts: []providers.Part{{Kind: providers.PartToolResult,
		ToolResult: &providers.ToolResult{ToolCallID: id, Content: content, IsError: isErr}}}}
}

// toolsRequest offers two tools, with the system prompt and the tools
// cached.
func toolsRequest() *providers.Request {
	return &providers.Request{
		Model: "claude-sonnet-4-20250514",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You are a career coach.", CachePoint: &providers.CachePoint{TTL: time.Hour}},
			{Role: providers.RoleUser, Content: "Which data engineer roles are open in Berlin, and what do they pay?"},
		},
		MaxTokens:  1024,
		Tools:      []providers.Tool{searchJobs, salaryRange},
		ToolChoice: providers.ToolChoice{Mode: providers.ToolChoiceAuto},
	}
}

// toolResultsRequest continues toolsRequest's conversation, written as an
// OpenAI client sends it: the calls in an assistant turn, each result in a
// tool turn of its own.
func toolResultsRequest() *providers.Request {
	r := toolsRequest()
	r.Messages = append(r.Messages,
		providers.Message{Role: providers.RoleAssistant, Parts: []providers.Part{
			providers.TextPart("I'll look up open roles and the salary range at the same time."),
			toolCall("toolu_01A09q90qw90lq917835lq9", "search_jobs", `{"title":"data engineer","location":"Berlin"}`),
			toolCall("toolu_01B8jM5ofGdJ7NHp4Pz1kmQe", "salary_range", `{"title":"data engineer","country":"DE"}`),
		}},
		toolResult("toolu_01A09q90qw90lq917835lq9", `{"count":42}`, false),
		toolResult("toolu_01B8jM5ofGdJ7NHp4Pz1kmQe", "salary service unavailable", true),
	)
	f := false
	r.ParallelToolCalls = &f
	return r
}

func jsonRequest(model string) *providers.Request {
	return &providers.Request{
		Model:          model,
		Messages:       []providers.Message{{Role: providers.RoleUser, Content: "Describe the data engineer role as JSON."}},
		MaxTokens:      512,
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "role", Schema: objSchema, Strict: true},
	}
}

func imageRequest() *providers.Request {
	return &providers.Request{
		Model: "claude-sonnet-4-20250514",
		Messages: []providers.Message{{Role: providers.RoleUser, Parts: []providers.Part{
			providers.TextPart("What do these charts show?"),
			{Kind: providers.PartImage, Image: &providers.Image{Data: []byte("\x89PNG\r\n\x1a\n"), MediaType: "image/png"}},
			{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/postings.jpg"}},
			{Kind: providers.PartImage, Image: &providers.Image{URL: "data:image/gif;base64,R0lGODlhAQABAAAAACw="},
				CachePoint: &providers.CachePoint{TTL: 5 * time.Minute}},
		}}},
		MaxTokens: 256,
	}
}

// thinkingRequest enables thinking and passes an earlier turn's thinking
// blocks back unchanged.
func thinkingRequest() *providers.Request {
	return &providers.Request{
		Model: "claude-sonnet-4-20250514",
		Messages: []providers.Message{
			{Role: providers.RoleUser, Content: "What is one next step toward data engineering?"},
			{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "I need current openings before I can answer.", Signature: "ErUBCkYIBxgCIkB0UjV7qK5uV1v0Hn4cQ8Vh8nYzZ2c3Rk"}},
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Redacted: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}},
				toolCall("toolu_01ThinkTool9pQ", "search_jobs", `{"title":"data engineer"}`),
			}},
			toolResult("toolu_01ThinkTool9pQ", `{"count":42}`, false),
		},
		MaxTokens: 4096,
		Tools:     []providers.Tool{searchJobs},
		Reasoning: providers.Reasoning{BudgetTokens: 2048},
	}
}

// RichCases are the Messages API's rich exchanges and what the backend
// must make of them.
func RichCases(t *testing.T) []providertest.RichCase {
	load := func(name string) providertest.Cassette { return providertest.Load(t, "testdata/rich", 200, name) }
	const sonnet4 = "claude-sonnet-4-20250514"
	streamed := func(r *providers.Request) *providers.Request { return r }
	cases := []providertest.RichCase{
		{
			Name: "tools", Request: toolsRequest(),
			Answer: providertest.Answer{Cassette: load("tool_use.json"), Want: providers.Response{
				ID: "msg_01Aq9w938a90dw8q9Tool", Model: sonnet4,
				Text: "I'll look up open roles and the salary range at the same time.",
				Parts: providertest.PartsOf(
					providers.TextPart("I'll look up open roles and the salary range at the same time."),
					toolCall("toolu_01A09q90qw90lq917835lq9", "search_jobs", `{"title":"data engineer","location":"Berlin"}`),
					toolCall("toolu_01B8jM5ofGdJ7NHp4Pz1kmQe", "salary_range", `{"title":"data engineer","country":"DE"}`),
				),
				FinishReason: providers.FinishToolCalls,
				Usage:        providers.Usage{InputTokens: 472 + 1536, OutputTokens: 118, CacheCreationInputTokens: 1536},
			}},
		},
		{
			Name: "tools_stream", Request: streamed(toolsRequest()), Stream: true,
			Answer: providertest.Answer{Cassette: load("tool_use.sse"), Want: providers.Response{
				ID: "msg_014p7gG3wDgGV9EUtLvnow3U", Model: sonnet4, Text: "Looking up both.",
				Parts: providertest.PartsOf(
					providers.TextPart("Looking up both."),
					toolCall("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "search_jobs", `{"title": "data engineer", "location": "Berlin"}`),
					toolCall("toolu_01Ldh2m9QCMxDNiNvrxXaLwP", "salary_range", `{"title": "data engineer", "country": "DE"}`),
				),
				FinishReason: providers.FinishToolCalls,
				Usage:        providers.Usage{InputTokens: 472 + 1536, OutputTokens: 89, CachedInputTokens: 1536},
			}},
		},
		{
			Name: "tool_results", Request: toolResultsRequest(),
			Answer: providertest.Answer{Cassette: load("after_tools.json"), Want: providers.Response{
				ID: "msg_01EcyWo6m4hyW8KHs2y2pei5", Model: sonnet4,
				Text:         "There are 42 open data engineer roles in Berlin; the salary range could not be fetched.",
				FinishReason: providers.FinishStop,
				Usage:        providers.Usage{InputTokens: 96 + 1536, OutputTokens: 24, CachedInputTokens: 1536},
			}},
		},
		{
			Name: "json_native", Request: jsonRequest("claude-sonnet-4-5-20250929"),
			Answer: providertest.Answer{Cassette: load("json_native.json"), Want: providers.Response{
				ID: "msg_01StrucOutNative5x2", Model: "claude-sonnet-4-5-20250929",
				Text:         `{"role":"Data Engineer","skills":["SQL","Python","dbt"]}`,
				FinishReason: providers.FinishStop, Usage: providers.Usage{InputTokens: 211, OutputTokens: 27},
			}},
		},
		{
			Name: "json_native_stream", Request: jsonRequest("claude-sonnet-4-5-20250929"), Stream: true,
			Answer: providertest.Answer{Cassette: load("json_native.sse"), Want: providers.Response{
				ID: "msg_01StrucOutNativeStream", Model: "claude-sonnet-4-5-20250929",
				Text:         `{"role":"Data Engineer","skills":["SQL","Python","dbt"]}`,
				FinishReason: providers.FinishStop, Usage: providers.Usage{InputTokens: 211, OutputTokens: 27},
			}},
		},
		{
			Name: "json_tool", Request: jsonRequest(sonnet4),
			Answer: providertest.Answer{Cassette: load("json_tool.json"), Want: providers.Response{
				ID: "msg_01JsonAnswerTool7c", Model: sonnet4,
				Text:         `{"role":"Data Engineer","skills":["SQL","Python","dbt"]}`,
				FinishReason: providers.FinishStop, Usage: providers.Usage{InputTokens: 402, OutputTokens: 44},
			}},
		},
		{
			Name: "json_tool_stream", Request: jsonRequest(sonnet4), Stream: true,
			Answer: providertest.Answer{Cassette: load("json_tool.sse"), Want: providers.Response{
				ID: "msg_01JsonAnswerToolStream", Model: sonnet4,
				Text:         `{"role": "Data Engineer", "skills": ["SQL", "Python", "dbt"]}`,
				FinishReason: providers.FinishStop, Usage: providers.Usage{InputTokens: 402, OutputTokens: 44},
			}},
		},
		{
			Name: "images", Request: imageRequest(),
			Answer: providertest.Answer{Cassette: load("image.json"), Want: providers.Response{
				ID: "msg_01ImageAnswer4Fq", Model: sonnet4, Text: "Both pictures show a bar chart of job postings by month.",
				FinishReason: providers.FinishStop, Usage: providers.Usage{InputTokens: 1604, OutputTokens: 16},
			}},
		},
		{
			Name: "thinking", Request: thinkingRequest(),
			Answer: providertest.Answer{Cassette: load("thinking.json"), Want: providers.Response{
				ID: "msg_01ThinkingToolUse3a", Model: sonnet4,
				Parts: providertest.PartsOf(
					providers.Part{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "I need current openings before I can answer.", Signature: "ErUBCkYIBxgCIkB0UjV7qK5uV1v0Hn4cQ8Vh8nYzZ2c3Rk"}},
					providers.Part{Kind: providers.PartThinking, Thinking: &providers.Thinking{Redacted: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}},
					toolCall("toolu_01ThinkTool9pQ", "search_jobs", `{"title":"data engineer"}`),
				),
				FinishReason: providers.FinishToolCalls, Usage: providers.Usage{InputTokens: 512, OutputTokens: 140},
			}},
		},
		{
			Name: "thinking_stream", Request: thinkingRequest(), Stream: true,
			Answer: providertest.Answer{Cassette: load("thinking.sse"), Want: providers.Response{
				ID: "msg_01ThinkingStream8Lx", Model: sonnet4, Text: "Build one end-to-end pipeline project.",
				FinishReason: providers.FinishStop, Usage: providers.Usage{InputTokens: 85, OutputTokens: 64},
			}},
		},
	}
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return cases
	}
	for i := range cases {
		b, err := os.ReadFile(richGolden(cases[i].Name))
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		cases[i].WantBody = b
	}
	return cases
}
