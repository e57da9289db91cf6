package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

const (
	jobsSchema = `{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string"}},"required":["title","city"]}`
	planSchema = `{"type":"object","properties":{"role":{"type":"string"},"steps":{"type":"array","items":{"type":"string"},"minItems":2}},"required":["role","steps"],"additionalProperties":false}`
)

// anthropicConfig writes a configuration with two routes answered by an
// Anthropic-speaking simulator at url: "claude" on a model without native
// structured output, "claude45" on one with it.
func anthropicConfig(t *testing.T, url string) string {
	t.Helper()
	files := map[string]string{
		"provider_settings.json": `{"providers": {"anthropic": {"kind": "anthropic", "base_url": "` + url + `", "api_key_env": "BIN_TEST_KEY",
			"timeout": "30s", "retry": {"max_attempts": 1}}},
			"models": [{"name": "claude-sonnet-4-20250514", "provider": "anthropic", "price": {"input_per_mtok": 3, "output_per_mtok": 15}},
				{"name": "claude-sonnet-4-5-20250929", "provider": "anthropic", "price": {"input_per_mtok": 3, "output_per_mtok": 15}}]}`,
		"ab_test_config.json": `{"routes": {
			"claude": {"variants": [{"name": "v", "provider": "anthropic", "model": "claude-sonnet-4-20250514", "weight": 1}]},
			"claude45": {"variants": [{"name": "v", "provider": "anthropic", "model": "claude-sonnet-4-5-20250929", "weight": 1}]}}}`,
	}
	return writeConfig(t, files)
}

func richClient(t *testing.T) (gatewayv1.LLMGatewayClient, context.Context) {
	t.Helper()
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	p := startBinary(t, anthropicConfig(t, url), []string{"BIN_TEST_KEY=k"})
	return p.connect(t, 30*time.Second)
}

func jobsTool() *gatewayv1.Tool {
	return tool("search_jobs", "Search open job postings.", jobsSchema)
}

func toolRequest(route string) *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route:             route,
		Messages:          []*gatewayv1.Message{user("Find data engineer jobs in Berlin.")},
		Params:            &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
		Tools:             []*gatewayv1.Tool{jobsTool()},
		ToolChoice:        &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED},
		ParallelToolCalls: proto.Bool(false),
	}
}

func checkArgs(t *testing.T, args string) {
	t.Helper()
	s := compileSchema(t, jobsSchema)
	if err := s.Validate([]byte(args)); err != nil {
		t.Errorf("arguments %s: %v", args, err)
	}
}

// TestBinaryAnthropicToolRoundTrip: the model calls a tool on an
// Anthropic route, the caller sends the result back, the model answers.
func TestBinaryAnthropicToolRoundTrip(t *testing.T) {
	client, ctx := richClient(t)
	req := toolRequest("claude")
	first, err := client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	calls := callsOf(first.GetParts())
	if len(calls) != 1 || calls[0].GetName() != "search_jobs" || first.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS {
		t.Fatalf("first answer: finish %v parts %v", first.GetFinishReason(), first.GetParts())
	}
	checkArgs(t, calls[0].GetArguments())
	req.Messages = append(req.Messages,
		assistant(first.GetParts()),
		toolResult(calls[0].GetId(), `{"jobs":3}`))
	req.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO}
	second, err := client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if second.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_STOP || second.GetText() == "" || len(callsOf(second.GetParts())) != 0 {
		t.Fatalf("answer after the result: finish %v text %q parts %v", second.GetFinishReason(), second.GetText(), second.GetParts())
	}
}

// TestBinaryAnthropicStreamedToolCall: a streamed tool call arrives as
// deltas that assemble into the same call a unary answer gives.
func TestBinaryAnthropicStreamedToolCall(t *testing.T) {
	client, ctx := richClient(t)
	unary, err := client.Complete(ctx, toolRequest("claude"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := client.Stream(ctx, toolRequest("claude"))
	if err != nil {
		t.Fatal(err)
	}
	var id, name string
	var args strings.Builder
	var last *gatewayv1.StreamResponse
	for _, c := range recvAll(t, st) {
		if d := c.GetToolCall(); d != nil {
			if d.GetIndex() != 0 {
				t.Errorf("tool call index %d", d.GetIndex())
			}
			id, name = id+d.GetId(), name+d.GetName()
			args.WriteString(d.GetArguments())
		}
		last = c
	}
	if last == nil || !last.GetDone() || last.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS {
		t.Fatalf("last chunk %v", last)
	}
	want := callsOf(unary.GetParts())
	if len(want) != 1 || name != want[0].GetName() || args.String() != want[0].GetArguments() || !strings.HasPrefix(id, "toolu_") {
		t.Fatalf("streamed call %s %s %s, unary %v", id, name, args.String(), want)
	}
	checkArgs(t, args.String())
}

// TestBinaryAnthropicJSONSchema: a JSON-schema answer, through the forced
// tool on one model and the native output format on the other, unary and
// streamed, is plain JSON that satisfies the schema and that the gateway
// checked.
func TestBinaryAnthropicJSONSchema(t *testing.T) {
	client, ctx := richClient(t)
	compiled := compileSchema(t, planSchema)
	for _, route := range []string{"claude", "claude45"} {
		req := &gatewayv1.CompleteRequest{
			Route:          route,
			Messages:       []*gatewayv1.Message{user("Plan my move into data engineering.")},
			Params:         &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
			ResponseFormat: jsonFormat("", planSchema),
		}
		resp, err := client.Complete(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", route, err)
		}
		if err := compiled.Validate([]byte(resp.GetText())); err != nil {
			t.Errorf("%s: answer %s: %v", route, resp.GetText(), err)
		}
		if len(resp.GetParts()) != 0 || resp.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_STOP ||
			resp.GetSchemaCheck() != gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED {
			t.Errorf("%s: finish %v schema_check %v parts %v", route, resp.GetFinishReason(), resp.GetSchemaCheck(), resp.GetParts())
		}
		st, err := client.Stream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := readStream(t, st)
		if !json.Valid([]byte(text)) || compiled.Validate([]byte(text)) != nil {
			t.Errorf("%s: streamed answer %s", route, text)
		}
	}
}

// TestBinaryOpenAIConversationOnAnthropic: a conversation written the way
// an OpenAI client writes it (an assistant turn with two calls whose ids
// are OpenAI's, each result in a tool turn of its own) continues on an
// Anthropic route: the results are merged into one user turn, the ids
// kept, and the model answers from them; its next call keeps its own id
// across the following turn.
func TestBinaryOpenAIConversationOnAnthropic(t *testing.T) {
	client, ctx := richClient(t)
	call := func(id, city string) *gatewayv1.Part {
		return &gatewayv1.Part{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: id, Name: "search_jobs",
			Arguments: `{"title":"data engineer","city":"` + city + `"}`}}}
	}
	req := &gatewayv1.CompleteRequest{
		Route: "claude",
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "You are a career coach."},
			user("Compare data engineer jobs in Berlin and Munich."),
			assistant([]*gatewayv1.Part{call("call_9pLwQd2K", "Berlin"), call("call_Xr41mZ0a", "Munich")}),
			toolResult("call_9pLwQd2K", `{"jobs":42}`),
			toolResult("call_Xr41mZ0a", `{"jobs":17}`),
		},
		Params: &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
		Tools:  []*gatewayv1.Tool{jobsTool()},
	}
	resp, err := client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_STOP || resp.GetText() == "" {
		t.Fatalf("answer: finish %v text %q parts %v", resp.GetFinishReason(), resp.GetText(), resp.GetParts())
	}

	// A new question: the model calls again; its call goes back with its
	// result and the conversation still answers.
	req.Messages = append(req.Messages,
		&gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT, Content: resp.GetText()},
		user("And in Hamburg?"))
	req.ParallelToolCalls = proto.Bool(false)
	next, err := client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	calls := callsOf(next.GetParts())
	if len(calls) != 1 {
		t.Fatalf("calls %v", next.GetParts())
	}
	req.Messages = append(req.Messages,
		assistant(next.GetParts()),
		toolResult(calls[0].GetId(), `{"jobs":9}`))
	last, err := client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if last.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_STOP || last.GetText() == "" {
		t.Fatalf("last answer: finish %v parts %v", last.GetFinishReason(), last.GetParts())
	}
}
