package main

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

const bedrockTestModel = "us.anthropic.claude-sonnet-4-20250514-v1:0"

// bedrockConfig writes a configuration whose only route is answered by a
// bedrock provider pointed at the simulator at url.
func bedrockConfig(t *testing.T, url string) string {
	t.Helper()
	files := map[string]string{
		"provider_settings.json": `{"providers": {"bedrock": {"kind": "bedrock", "base_url": "` + url + `",
			"timeout": "30s", "retry": {"max_attempts": 1}, "options": {"region": "us-east-1"}}},
			"models": [{"name": "` + bedrockTestModel + `", "provider": "bedrock",
				"price": {"input_per_mtok": 3, "output_per_mtok": 15, "cached_input_per_mtok": 0.3, "cache_write_input_per_mtok": 3.75}}]}`,
		"ab_test_config.json": `{"routes": {"r": {"variants": [{"name": "v", "provider": "bedrock", "model": "` + bedrockTestModel + `", "weight": 1}]}}}`,
	}
	return writeConfig(t, files)
}

// TestBinaryBedrock routes to a bedrock provider (the AWS SDK, SigV4 with
// static credentials from the environment) pointed at the simulator:
// text, a tool round trip, a JSON answer through a forced tool, a stream.
func TestBinaryBedrock(t *testing.T) {
	_, url := startSim(t, sim.Config{AnswerTokens: 12})
	p := startBinary(t, bedrockConfig(t, url), awsEnv(t, "AKIDBINARYTEST", "binary-test-secret"))
	client, ctx := p.connect(t, 30*time.Second)

	// Text.
	resp, err := client.Complete(ctx, completeRequest())
	if err != nil {
		t.Fatal(err)
	}
	if want := sim.Text(bedrockTestModel, "hello", 12, 64); resp.Text != want || resp.Provider != "bedrock" ||
		resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_STOP || resp.Usage.GetOutputTokens() != 12 || resp.CostUsd <= 0 {
		t.Errorf("text answer %v, want %q", resp, want)
	}

	// A tool round trip.
	tools := []*gatewayv1.Tool{tool("weather", "Current weather", `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
	req := completeRequest()
	req.Tools = tools
	req.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}
	resp, err = client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS || len(resp.Parts) != 1 || resp.Parts[0].GetToolCall() == nil {
		t.Fatalf("tool answer %v", resp)
	}
	call := resp.Parts[0].GetToolCall()
	var args struct{ City *string }
	if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil || args.City == nil || call.Name != "weather" {
		t.Errorf("tool call %v", call)
	}
	req = completeRequest()
	req.Tools = tools
	req.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO}
	req.Messages = append(req.Messages,
		assistant(resp.Parts),
		toolResult(call.Id, "11C, clear"))
	resp, err = client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_STOP || resp.Text == "" {
		t.Errorf("answer after the tool result %v", resp)
	}

	// A JSON answer through a forced tool, checked against its schema by
	// the gateway.
	req = completeRequest()
	req.ResponseFormat = jsonFormat("rating", `{"type":"object","properties":{"score":{"type":"integer","minimum":1,"maximum":10}},"required":["score"]}`)
	resp, err = client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var rating struct{ Score *int }
	if err := json.Unmarshal([]byte(resp.Text), &rating); err != nil || rating.Score == nil || len(resp.Parts) > 1 {
		t.Errorf("JSON answer %v", resp)
	}

	// A stream.
	sreq := completeRequest()
	sreq.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)}
	sreq.Messages[0].Content = "stream please"
	st, err := client.Stream(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	text, last := readStream(t, st)
	if want := sim.Text(bedrockTestModel, "stream please", 12, 64); text != want || last == nil || !last.Done ||
		last.FinishReason != gatewayv1.FinishReason_FINISH_REASON_STOP || last.Usage.GetOutputTokens() != 12 {
		t.Errorf("stream %q %v, want %q", text, last, want)
	}
}
