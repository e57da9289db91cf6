package protoconv_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/providers"
)

// richRequest uses every new field of the contract.
func richRequest(t *testing.T) *gatewayv1.CompleteRequest {
	t.Helper()
	obj, err := structpb.NewStruct(map[string]any{"type": "object", "required": []any{"title"},
		"properties": map[string]any{"title": map[string]any{"type": "string"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayv1.CompleteRequest{
		Route: "career_plan",
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "You plan careers.",
				CachePoint: &gatewayv1.PromptCachePoint{Ttl: durationpb.New(time.Hour)}},
			{Role: gatewayv1.Role_ROLE_USER, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_Text{Text: "Here is my resume."}},
				{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{
					Source: &gatewayv1.Image_Data{Data: []byte{0x89, 'P', 'N', 'G'}}, MediaType: "image/png"}},
					CachePoint: &gatewayv1.PromptCachePoint{}},
				{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "https://example.com/a.jpg"}}}},
			}},
			{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Text: "Look up jobs.", Signature: "sig=="}}},
				{Kind: &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Redacted: "ENCRYPTED"}}},
				{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: "call_1", Name: "search_jobs", Arguments: `{"query":"ml"}`}}},
			}},
			{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{
				{Kind: &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{ToolCallId: "call_1", Content: "[]", IsError: true}}},
			}},
		},
		Tools: []*gatewayv1.Tool{
			{Name: "search_jobs", Description: "Searches jobs.", Parameters: &gatewayv1.JsonSchema{
				Source: &gatewayv1.JsonSchema_Json{Json: `{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","maximum":1.0}}}`}}},
			{Name: "now"},
		},
		ToolChoice:        &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: "search_jobs"},
		ParallelToolCalls: proto.Bool(false),
		ResponseFormat: &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: "plan", Description: "A plan.", Strict: true,
			Schema: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Object{Object: obj}}},
		Reasoning: &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_HIGH},
	}
}

func TestRequest(t *testing.T) {
	req := richRequest(t)
	got := &providers.Request{Messages: protoconv.Messages(req.GetMessages())}
	if err := protoconv.Apply(got, req); err != nil {
		t.Fatal(err)
	}
	want := &providers.Request{
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You plan careers.", CachePoint: &providers.CachePoint{TTL: time.Hour}},
			{Role: providers.RoleUser, Parts: []providers.Part{
				providers.TextPart("Here is my resume."),
				{Kind: providers.PartImage, Image: &providers.Image{Data: []byte{0x89, 'P', 'N', 'G'}, MediaType: "image/png"},
					CachePoint: &providers.CachePoint{}},
				{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.jpg"}},
			}},
			{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "Look up jobs.", Signature: "sig=="}},
				{Kind: providers.PartThinking, Thinking: &providers.Thinking{Redacted: "ENCRYPTED"}},
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "call_1", Name: "search_jobs", Arguments: `{"query":"ml"}`}},
			}},
			{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "call_1", Content: "[]", IsError: true}},
			}},
		},
		Tools: []providers.Tool{
			// The JSON text is kept byte for byte: key order and 1.0.
			{Name: "search_jobs", Description: "Searches jobs.",
				Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","maximum":1.0}}}`)},
			{Name: "now"},
		},
		ToolChoice:        providers.ToolChoice{Mode: providers.ToolChoiceTool, Name: "search_jobs"},
		ParallelToolCalls: proto.Bool(false),
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "plan", Description: "A plan.", Strict: true,
			// A Struct comes out with sorted keys.
			Schema: json.RawMessage(`{"properties":{"title":{"type":"string"}},"required":["title"],"type":"object"}`)},
		Reasoning: providers.Reasoning{Effort: providers.EffortHigh},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
	features := got.Features()
	wantFeatures := []providers.Feature{providers.FeatureTools, providers.FeatureToolChoice, providers.FeatureParallelToolCalls,
		providers.FeatureJSONSchema, providers.FeatureReasoningEffort, providers.FeatureParts, providers.FeatureImages,
		providers.FeatureToolCalls, providers.FeatureToolResults, providers.FeatureThinking, providers.FeaturePromptCache}
	if d := cmp.Diff(wantFeatures, features); d != "" {
		t.Errorf("features (-want +got):\n%s", d)
	}
}

// A text-only request converts as it always did: no parts, no features.
func TestTextOnly(t *testing.T) {
	req := &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "hi"}}}
	got := &providers.Request{Messages: protoconv.Messages(req.GetMessages())}
	if err := protoconv.Apply(got, req); err != nil {
		t.Fatal(err)
	}
	want := &providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Content: "hi"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if f := got.Features(); f != nil {
		t.Errorf("features %v", f)
	}
	if p := protoconv.Parts(nil); p != nil {
		t.Errorf("parts of a text answer: %v", p)
	}
}

func TestReasoningBudget(t *testing.T) {
	req := &gatewayv1.CompleteRequest{Reasoning: &gatewayv1.Reasoning{BudgetTokens: proto.Int32(2048)},
		ResponseFormat: &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_OBJECT}}
	var p providers.Request
	if err := protoconv.Apply(&p, req); err != nil {
		t.Fatal(err)
	}
	if p.Reasoning != (providers.Reasoning{BudgetTokens: 2048}) || p.ResponseFormat.Type != providers.FormatJSONObject {
		t.Errorf("got %+v", p)
	}
	if d := cmp.Diff([]providers.Feature{providers.FeatureJSONObject, providers.FeatureReasoningBudget}, p.Features()); d != "" {
		t.Error(d)
	}
}

func TestAnswer(t *testing.T) {
	parts := []providers.Part{
		{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "hm", Signature: "s"}},
		providers.TextPart("Let me look."),
		{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "c1", Name: "now", Arguments: "{}"}},
	}
	want := []*gatewayv1.Part{
		{Kind: &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Text: "hm", Signature: "s"}}},
		{Kind: &gatewayv1.Part_Text{Text: "Let me look."}},
		{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: "c1", Name: "now", Arguments: "{}"}}},
	}
	if d := cmp.Diff(want, protoconv.Parts(parts), protocmp.Transform()); d != "" {
		t.Errorf("parts (-want +got):\n%s", d)
	}
	// Parts come back as they went in.
	back := protoconv.Messages([]*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: protoconv.Parts(parts)}})
	if d := cmp.Diff(parts, back[0].Parts); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	u := protoconv.Usage(providers.Usage{InputTokens: 100, OutputTokens: 50, CachedInputTokens: 60,
		CacheCreationInputTokens: 30, ReasoningTokens: 20})
	if d := cmp.Diff(&gatewayv1.Usage{InputTokens: 100, OutputTokens: 50, CachedInputTokens: 60,
		CacheCreationInputTokens: 30, ReasoningTokens: 20}, u, protocmp.Transform()); d != "" {
		t.Error(d)
	}
	if f := protoconv.FinishReason(providers.FinishToolCalls); f != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS {
		t.Error(f)
	}
	d := protoconv.ToolCallDelta(&providers.ToolCallDelta{Index: 1, ID: "c2", Name: "now", Arguments: `{"a`})
	if d.GetIndex() != 1 || d.GetId() != "c2" || d.GetName() != "now" || d.GetArguments() != `{"a` {
		t.Error(d)
	}
	if protoconv.ToolCallDelta(nil) != nil || protoconv.ThinkingDelta(nil) != nil {
		t.Error("a nil delta converted")
	}
	if th := protoconv.ThinkingDelta(&providers.ThinkingDelta{Text: "x", Signature: "y"}); th.GetText() != "x" || th.GetSignature() != "y" {
		t.Error(th)
	}
}

// The new messages survive protobuf and REST JSON encodings unchanged,
// bytes (base64 in JSON), the optional bool and the Struct included.
func TestWireRoundTrip(t *testing.T) {
	req := richRequest(t)
	resp := &gatewayv1.CompleteResponse{Id: "r1", FinishReason: gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS,
		Parts:       protoconv.Parts([]providers.Part{{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "c", Name: "n", Arguments: "{}"}}}),
		SchemaCheck: gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED, Usage: &gatewayv1.Usage{ReasoningTokens: 7}}
	chunk := &gatewayv1.StreamResponse{ToolCall: &gatewayv1.ToolCallDelta{Index: 2, Arguments: `"x"}`},
		Thinking: &gatewayv1.ThinkingDelta{Text: "t"}}
	for _, m := range []proto.Message{req, resp, chunk} {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got := m.ProtoReflect().New().Interface()
		if err := protojson.Unmarshal(b, got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(m, got, protocmp.Transform()); d != "" {
			t.Errorf("JSON round trip (-want +got):\n%s", d)
		}
		wire, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got = m.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(wire, got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m, got) {
			t.Errorf("binary round trip of %T differs", m)
		}
	}
	// A parallel_tool_calls of false is present in JSON, not dropped as a
	// default.
	b, _ := protojson.Marshal(req)
	var generic map[string]any
	_ = json.Unmarshal(b, &generic)
	if v, ok := generic["parallelToolCalls"]; !ok || v != false {
		t.Errorf("parallelToolCalls = %v, %v in %s", v, ok, b)
	}
}
