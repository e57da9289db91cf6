package main

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// geminiConfig writes a configuration whose only route is answered by a
// gemini provider pointed at a simulator at url.
func geminiConfig(t *testing.T, url string) string {
	t.Helper()
	files := map[string]string{
		"provider_settings.json": `{"providers": {"google": {"kind": "gemini", "base_url": "` + url + `/v1beta", "api_key_env": "BIN_GEMINI_KEY",
			"timeout": "30s", "retry": {"max_attempts": 1}}},
			"models": [{"name": "gemini-2.5-flash", "provider": "google", "price": {"input_per_mtok": 0.3, "output_per_mtok": 2.5, "cached_input_per_mtok": 0.03}}]}`,
		"ab_test_config.json": `{"routes": {"r": {"variants": [{"name": "v", "provider": "google", "model": "gemini-2.5-flash", "weight": 1}]}}}`,
	}
	return writeConfig(t, files)
}

// TestBinaryGemini routes text, a tool round trip, a schema-checked JSON
// answer and a stream through the gateway binary to a gemini provider.
func TestBinaryGemini(t *testing.T) {
	_, url := startSim(t, sim.Config{RequireAPIKey: "AIzaBinaryTest"})
	p := startBinary(t, geminiConfig(t, url), []string{"BIN_GEMINI_KEY=AIzaBinaryTest"})
	client, ctx := p.connect(t, 30*time.Second)

	// Text.
	resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{user("hello")},
		Params: &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)}})
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Text("gemini-2.5-flash", "hello", 0, 64)
	if resp.Text != want || resp.Provider != "google" || resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_STOP ||
		resp.Usage.GetOutputTokens() != sim.DefaultAnswerTokens || resp.CostUsd <= 0 {
		t.Errorf("text answer %v, want %q", resp, want)
	}

	// A tool round trip.
	params := `{"type":"object","properties":{"title":{"type":"string"}},"required":["title"]}`
	tools := []*gatewayv1.Tool{tool("lookup_role", "Looks a role up.", params)}
	msgs := []*gatewayv1.Message{user("What does a data engineer need?")}
	resp, err = client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: msgs, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	call := firstToolCall(resp.Parts)
	if resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS || call == nil || call.Name != "lookup_role" || call.Id == "" {
		t.Fatalf("want a call of lookup_role: %v", resp)
	}
	ps := compileSchema(t, params)
	if err := ps.Validate([]byte(call.Arguments)); err != nil {
		t.Errorf("arguments %s: %v", call.Arguments, err)
	}
	msgs = append(msgs,
		assistant(resp.Parts),
		toolResult(call.Id, "SQL, Python, orchestration"))
	resp, err = client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: msgs, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_STOP || resp.Text == "" {
		t.Errorf("after the tool result: %v", resp)
	}

	// A schema-checked JSON answer.
	schema := `{"type":"object","properties":{"role":{"type":"string"},"years":{"type":"integer","minimum":2}},"required":["role","years"]}`
	resp, err = client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{user("Answer in JSON.")},
		ResponseFormat: jsonFormat("", schema)})
	if err != nil {
		t.Fatal(err)
	}
	js := compileSchema(t, schema)
	// The gateway checked the answer, and it satisfies the schema.
	if err := js.Validate([]byte(resp.Text)); err != nil || resp.SchemaCheck != gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED {
		t.Errorf("JSON answer %q (schema check %v): %v", resp.Text, resp.SchemaCheck, err)
	}

	// A stream.
	st, err := client.Stream(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{user("stream please")}})
	if err != nil {
		t.Fatal(err)
	}
	text, last := readStream(t, st)
	if text != sim.Text("gemini-2.5-flash", "stream please", 0, 0) || last == nil || !last.Done ||
		last.Usage.GetOutputTokens() != sim.DefaultAnswerTokens || last.Provider != "google" {
		t.Errorf("stream %q, last %v", text, last)
	}
}
