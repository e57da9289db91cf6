package compat

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

func TestDecodeMessagesRich(t *testing.T) {
	req, _, aerr := decodeMessages([]byte(`{"model": "m", "max_tokens": 10,
		"tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
		"tool_choice": {"type": "any", "disable_parallel_tool_use": true},
		"thinking": {"type": "enabled", "budget_tokens": 2048},
		"messages": [
			{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AQI="}},
				{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
				{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
			{"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
				{"type": "redacted_thinking", "data": "opaque"},
				{"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
			{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "bad", "is_error": true}]}
		]}`))
	if aerr != nil {
		t.Fatal(aerr)
	}
	n, budget, no := int32(10), int32(2048), false
	want := &gatewayv1.CompleteRequest{
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_USER, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: []byte{1, 2}}, MediaType: "image/png"}}},
				{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "https://x/y.png"}}}},
				{Kind: &gatewayv1.Part_Text{Text: "Hi"}, CachePoint: &gatewayv1.PromptCachePoint{Ttl: durationpb.New(time.Hour)}},
			}},
			{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Text: "hmm", Signature: "sig"}}},
				{Kind: &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Redacted: "opaque"}}},
				{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: "t1", Name: "f", Arguments: `{"a": 1}`}}},
			}},
			{Role: gatewayv1.Role_ROLE_USER, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{ToolCallId: "t1", Content: "bad", IsError: true}}},
			}},
		},
		Params: &gatewayv1.GenerationParams{MaxTokens: &n},
		Tools: []*gatewayv1.Tool{{Name: "f", Description: "d",
			Parameters: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: `{"type": "object"}`}}}},
		ToolChoice:        &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED},
		ParallelToolCalls: &no,
		Reasoning:         &gatewayv1.Reasoning{BudgetTokens: &budget},
	}
	if !proto.Equal(req, want) {
		t.Fatalf("got %v\nwant %v", req, want)
	}
}
