package openai_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/openai"
	"github.com/careerpath/llmgateway/providers/providertest"
)

// TestRefusesWhatChatCompletionsCannotCarry checks that each feature Chat
// Completions has no field for is refused by name before anything is
// sent, and that both kinds declare it unsupported.
func TestRefusesWhatChatCompletionsCannotCarry(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	oai := build(t, settings(srv))
	compat := settings(srv)
	compat.Kind = openai.KindCompatible
	comp := build(t, compat)

	thinking := userRequest("hi")
	thinking.Messages = append(thinking.Messages, providers.Message{Role: providers.RoleAssistant, Parts: []providers.Part{
		{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "hmm", Signature: "sig"}}, providers.TextPart("hello"),
	}})
	budget := userRequest("hi")
	budget.Reasoning.BudgetTokens = 1024
	cached := userRequest("hi")
	cached.Messages[0].CachePoint = &providers.CachePoint{}
	ttl := userRequest("hi")
	ttl.Messages[0].CachePoint = &providers.CachePoint{TTL: time.Hour}
	isError := userRequest("hi")
	isError.Messages = append(isError.Messages, providers.Message{Role: providers.RoleTool, Parts: []providers.Part{
		{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "call_1", Content: "boom", IsError: true}},
	}})
	for _, tc := range []struct {
		name    string
		p       providers.Provider
		req     *providers.Request
		feature providers.Feature // declared unsupported, when set
		mention string
	}{
		{"thinking", oai, thinking, providers.FeatureThinking, "messages.parts.thinking"},
		{"budget", oai, budget, providers.FeatureReasoningBudget, "reasoning.budget_tokens"},
		{"cache point on a compatible host", comp, cached, providers.FeaturePromptCache, "cache_point"},
		{"cache point ttl", oai, ttl, "", "cache_point.ttl"},
		{"tool result error flag", oai, isError, "", "is_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.feature != "" {
				if got := providers.Unsupported(tc.p, tc.req); len(got) != 1 || got[0] != tc.feature {
					t.Errorf("Unsupported = %v, want [%s]", got, tc.feature)
				}
			}
			_, err := tc.p.Complete(ctxTimeout(t, 5*time.Second), tc.req)
			e := errorOfKind(t, err, providers.KindBadRequest)
			if !strings.Contains(e.Error(), tc.mention) {
				t.Errorf("error %q does not name %s", e.Error(), tc.mention)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the vendor", n)
	}
	// Kind openai honours a cache point by its automatic caching.
	if got := providers.Unsupported(oai, cached); len(got) != 0 {
		t.Errorf("openai: Unsupported(cache point) = %v, want none", got)
	}
}

// TestStreamInterleavedToolCalls checks that parallel calls whose deltas
// interleave, several in one event, are told apart by index.
func TestStreamInterleavedToolCalls(t *testing.T) {
	const head = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":`
	const tail = `,"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"
	body := head + `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"one","arguments":""}},{"index":1,"id":"call_b","type":"function","function":{"name":"two","arguments":"{\"y\""}}]}` + tail +
		head + `{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}` + tail +
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}` + tail +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"completion_tokens_details":{"reasoning_tokens":4}}}` + "\n\n" +
		"data: [DONE]\n\n"
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeSSE(w, http.StatusOK, []byte(body))
	}))
	s, err := build(t, settings(srv)).Stream(ctxTimeout(t, 5*time.Second), userRequest("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	got, err := providertest.Assemble(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Part{
		providertest.ToolCallPart("call_a", "one", `{"x":1}`),
		providertest.ToolCallPart("call_b", "two", `{"y":2}`),
	}
	parts := got.PartList()
	if len(parts) != len(want) {
		t.Fatalf("parts = %+v", parts)
	}
	for i := range want {
		if *parts[i].ToolCall != *want[i].ToolCall {
			t.Errorf("call %d = %+v, want %+v", i, *parts[i].ToolCall, *want[i].ToolCall)
		}
	}
	if got.FinishReason != providers.FinishToolCalls || got.Usage.ReasoningTokens != 4 {
		t.Errorf("finish %q usage %+v", got.FinishReason, got.Usage)
	}
}
