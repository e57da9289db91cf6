package compat

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

const responsesBody = `{"model": "career_advice", "instructions": "You are a career coach.", "store": false,
  "safety_identifier": "user-42", "temperature": 0.7, "top_p": 0.9, "max_output_tokens": 600, "stream": true,
  "metadata": {"team": "careers"}, "reasoning": {"effort": "low"}, "parallel_tool_calls": false,
  "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": true}],
  "tool_choice": {"type": "function", "name": "f"},
  "text": {"format": {"type": "json_schema", "name": "n", "strict": true, "schema": {"type": "object"}}},
  "input": [
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": [{"type": "input_text", "text": "I am a QA engineer."},
      {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}]},
    {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "phase": "final_answer",
      "content": [{"type": "output_text", "text": "Let me look.", "annotations": [], "logprobs": []}]},
    {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{}", "status": "completed"},
    {"type": "function_call", "id": "fc_2", "call_id": "c2", "name": "f", "arguments": "{\"a\":1}", "parsed_arguments": {"a": 1}},
    {"type": "function_call_output", "call_id": "c1", "output": "42"},
    {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "4"}, {"type": "input_text", "text": "3"}]},
    {"type": "message", "role": "assistant", "content": ""},
    {"role": "user", "content": "And then?"}
  ]}`

func TestDecodeResponses(t *testing.T) {
	req, opts, aerr := decodeResponses([]byte(responsesBody))
	if aerr != nil {
		t.Fatal(aerr)
	}
	schema := func(s string) *gatewayv1.JsonSchema {
		return &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: s}}
	}
	text := func(s string) *gatewayv1.Part { return &gatewayv1.Part{Kind: &gatewayv1.Part_Text{Text: s}} }
	call := func(id, args string) *gatewayv1.Part {
		return &gatewayv1.Part{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: id, Name: "f", Arguments: args}}}
	}
	result := func(id, content string) *gatewayv1.Message {
		return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{{Kind: &gatewayv1.Part_ToolResult{
			ToolResult: &gatewayv1.ToolResult{ToolCallId: id, Content: content}}}}}
	}
	f, p, n, no := 0.7, 0.9, int32(600), false
	want := &gatewayv1.CompleteRequest{
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "You are a career coach."},
			{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "Be brief."},
			{Role: gatewayv1.Role_ROLE_USER, Parts: []*gatewayv1.Part{text("I am a QA engineer."),
				{Kind: &gatewayv1.Part_Image{Image: &gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "https://example.com/a.png"}}}}}},
			// The calls join the assistant message before them.
			{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: []*gatewayv1.Part{text("Let me look."), call("c1", "{}"), call("c2", `{"a":1}`)}},
			result("c1", "42"),
			result("c2", "4\n3"),
			// The empty assistant message is left out.
			{Role: gatewayv1.Role_ROLE_USER, Content: "And then?"},
		},
		Params:            &gatewayv1.GenerationParams{MaxTokens: &n, Temperature: &f, TopP: &p},
		Caller:            &gatewayv1.Caller{Subject: "user-42"},
		Tools:             []*gatewayv1.Tool{{Name: "f", Description: "d", Parameters: schema(`{"type": "object"}`)}},
		ToolChoice:        &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: "f"},
		ParallelToolCalls: &no,
		ResponseFormat: &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: "n", Strict: true, Schema: schema(`{"type": "object"}`)},
		Reasoning: &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW},
	}
	if !proto.Equal(req, want) {
		t.Fatalf("got %v\nwant %v", req, want)
	}
	r := opts.response
	if opts.model != "career_advice" || !opts.stream || r == nil || r.Metadata["team"] != "careers" ||
		r.ParallelToolCalls || *r.Reasoning.Effort != "low" || r.Text.Format.Name != "n" || r.ToolChoice.Name != "f" ||
		len(r.Tools) != 1 || *r.Instructions != "You are a career coach." || *r.MaxOutputTokens != 600 {
		t.Fatalf("options %+v, response %+v", opts, r)
	}
}

func TestDecodeResponsesInput(t *testing.T) {
	for body, want := range map[string]string{
		`{"model": "m", "input": []}`:                                                                                                        "input",
		`{"model": "m", "input": [{"role": "system", "content": "x"}]}`:                                                                      "input",
		`{"model": "m", "input": [{"role": "user", "content": ""}]}`:                                                                         "input[0].content",
		`{"model": "m", "input": [{"role": "user"}]}`:                                                                                        "input[0].content",
		`{"model": "m", "input": [{"content": "x"}]}`:                                                                                        "input[0].role",
		`{"model": "m", "input": [{"role": "tool", "content": "x"}]}`:                                                                        "input[0].role",
		`{"model": "m", "input": [{"role": "user", "content": "x", "call_id": "c"}]}`:                                                        "input[0].call_id",
		`{"model": "m", "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]}`:                                 "input[0].content[0].type",
		`{"model": "m", "input": [{"role": "system", "content": [{"type": "input_image", "image_url": "u"}]}]}`:                              "input[0].content[0].type",
		`{"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}`:                                  "input[0].content[0].file_id",
		`{"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "u", "detail": "high"}]}]}`:              "input[0].content[0].detail",
		`{"model": "m", "input": [{"type": "function_call", "call_id": "c"}]}`:                                                               "input[0].name",
		`{"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}`:                                                        "input[0].output",
		`{"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "u"}]}]}`: "input[0].output[0].type",
		`{"model": "m", "input": "x", "tools": [{"type": "function"}]}`:                                                                      "tools[0].name",
		`{"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}`:                                            "text.format.name",
		`{"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}}`:                                             "text.format.schema",
		`{"model": "m", "input": "x", "text": {"verbosity": "low"}}`:                                                                         "text.verbosity",
		`{"model": "m", "input": "x", "service_tier": "flex"}`:                                                                               "service_tier",
		`{"model": "m", "input": "x", "top_logprobs": 2}`:                                                                                    "top_logprobs",
		`{"model": "m", "input": "x", "tool_choice": "any"}`:                                                                                 "tool_choice",
		`{"model": "m", "input": "x", "stream_options": {"include_usage": true}}`:                                                            "stream_options.include_usage",
	} {
		_, _, aerr := decodeResponses([]byte(body))
		if aerr == nil || aerr.param != want || aerr.status != 400 {
			t.Errorf("%s: %+v, want param %q", body, aerr, want)
		}
	}
	// The defaults and hints are accepted.
	if _, _, aerr := decodeResponses([]byte(`{"model": "m", "input": "x", "store": false, "background": false,
		"truncation": "disabled", "service_tier": "auto", "text": {"verbosity": "medium"}, "prompt_cache_key": "k",
		"stream_options": {"include_obfuscation": false}, "include": [], "previous_response_id": null, "top_logprobs": 0}`)); aerr != nil {
		t.Fatal(aerr)
	}
}

// streamTypes runs a stream of gateway messages through the Responses
// events and returns the event types and the last event's data.
func streamTypes(t *testing.T, msgs ...*gatewayv1.StreamResponse) (types []string, last string) {
	t.Helper()
	_, opts, aerr := decodeResponses([]byte(`{"model": "m", "input": "Hi", "stream": true}`))
	if aerr != nil {
		t.Fatal(aerr)
	}
	ev := newResponseEvents(opts)
	b := ev.start(nil)
	for _, m := range msgs {
		b = ev.message(b, m)
		if m.GetDone() {
			b = ev.finish(b, m)
		}
	}
	for _, e := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		name, data, _ := strings.Cut(strings.TrimPrefix(e, "event: "), "\ndata: ")
		types, last = append(types, name), data
	}
	return types, last
}

func TestResponseEventsEdges(t *testing.T) {
	// An empty answer is one empty message, without a delta.
	types, last := streamTypes(t, &gatewayv1.StreamResponse{Done: true, FinishReason: gatewayv1.FinishReason_FINISH_REASON_STOP})
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}
	if !slices.Equal(types, want) || !strings.Contains(last, `"text":""`) {
		t.Fatalf("empty answer: %v %s", types, last)
	}
	// Text, then a call cut short by the length limit: the message is
	// complete, the call incomplete, the response incomplete.
	types, last = streamTypes(t, &gatewayv1.StreamResponse{Delta: "Let me see."},
		&gatewayv1.StreamResponse{ToolCall: &gatewayv1.ToolCallDelta{Index: 0, Id: "c1", Name: "f"}},
		&gatewayv1.StreamResponse{ToolCall: &gatewayv1.ToolCallDelta{Index: 0, Arguments: `{"a":`}},
		&gatewayv1.StreamResponse{Done: true, FinishReason: gatewayv1.FinishReason_FINISH_REASON_LENGTH})
	want = []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
		"response.output_item.done", "response.incomplete"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v", types)
	}
	var r struct {
		Response struct {
			Status string
			Output []struct{ Type, Status, Arguments string }
		}
	}
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		t.Fatal(err)
	}
	out := r.Response.Output
	if r.Response.Status != "incomplete" || len(out) != 2 || out[0].Status != "completed" ||
		out[1].Status != "incomplete" || out[1].Arguments != `{"a":` {
		t.Fatalf("final: %s", last)
	}
}
