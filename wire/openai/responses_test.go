package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestResponseEvents checks the hand-written events: an event line naming
// the type, one data line of valid JSON holding the type, the sequence
// number and each field, strings escaped as encoding/json reads them.
func TestResponseEvents(t *testing.T) {
	const tricky = "a \"quoted\" <b>&\\ \u2028 line\nnext \x01 é"
	msg := OutputItem{ID: "msg_1", Type: ItemMessage, Status: StatusCompleted, Content: []OutputText{{Text: tricky}}}
	call := OutputItem{ID: "fc_1", Type: ItemFunctionCall, Status: StatusInProgress, CallID: "c\"1", Name: "f", Arguments: ""}
	for _, tc := range []struct {
		b    []byte
		want map[string]any
	}{
		{AppendTextDelta(nil, 7, "msg_1", 2, tricky), map[string]any{"type": EventOutputTextDelta, "sequence_number": 7.0,
			"item_id": "msg_1", "output_index": 2.0, "content_index": 0.0, "logprobs": []any{}, "delta": tricky}},
		{AppendTextDone(nil, 8, "msg_1", 2, tricky), map[string]any{"type": EventOutputTextDone, "sequence_number": 8.0,
			"item_id": "msg_1", "output_index": 2.0, "content_index": 0.0, "logprobs": []any{}, "text": tricky}},
		{AppendArgumentsDelta(nil, 1, "fc_1", 0, `{"a":`), map[string]any{"type": EventArgumentsDelta, "sequence_number": 1.0,
			"item_id": "fc_1", "output_index": 0.0, "delta": `{"a":`}},
		{AppendArgumentsDone(nil, 2, "fc_1", 0, "f", `{"a":1}`), map[string]any{"type": EventArgumentsDone, "sequence_number": 2.0,
			"item_id": "fc_1", "output_index": 0.0, "name": "f", "arguments": `{"a":1}`}},
		{AppendPartEvent(nil, EventContentPartDone, 3, "msg_1", 0, &msg.Content[0]), map[string]any{"type": EventContentPartDone,
			"sequence_number": 3.0, "item_id": "msg_1", "output_index": 0.0, "content_index": 0.0,
			"part": map[string]any{"type": "output_text", "text": tricky, "annotations": []any{}, "logprobs": []any{}}}},
		{AppendItemEvent(nil, EventOutputItemDone, 4, 0, &msg), map[string]any{"type": EventOutputItemDone, "sequence_number": 4.0,
			"output_index": 0.0, "item": map[string]any{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
				"content": []any{map[string]any{"type": "output_text", "text": tricky, "annotations": []any{}, "logprobs": []any{}}}}}},
		{AppendItemEvent(nil, EventOutputItemAdded, 5, 1, &call), map[string]any{"type": EventOutputItemAdded, "sequence_number": 5.0,
			"output_index": 1.0, "item": map[string]any{"id": "fc_1", "type": "function_call", "status": "in_progress",
				"call_id": "c\"1", "name": "f", "arguments": ""}}},
		{AppendErrorEvent(nil, 6, &ErrorObject{Message: tricky, Code: "server_error"}), map[string]any{"type": EventError,
			"sequence_number": 6.0, "code": "server_error", "message": tricky, "param": nil}},
	} {
		head, data, ok := bytes.Cut(tc.b, []byte("\ndata: "))
		typ := tc.want["type"].(string)
		if !ok || string(head) != "event: "+typ || !bytes.HasSuffix(data, []byte("\n\n")) || bytes.Count(data, []byte("\n")) != 2 {
			t.Fatalf("framing of %s: %q", typ, tc.b)
		}
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v: %s", typ, err, data)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", typ, got, tc.want)
		}
	}
}

// TestResponseObject checks the response object against the SDK's shape:
// every field present, nulls where the API writes null.
func TestResponseObject(t *testing.T) {
	r := Response{ID: "resp_1", Object: ObjectResponse, Status: StatusCompleted, Model: "m",
		Output: []OutputItem{{ID: "msg_1", Type: ItemMessage, Status: StatusCompleted, Content: []OutputText{{Text: "hi"}}}},
		Text:   TextEcho{Format: TextFormat{Type: FormatText}}, ToolChoice: ResponseToolChoice{Mode: ToolChoiceAuto},
		Tools: []ResponseTool{{Type: "web_search", Hosted: json.RawMessage(`{"type":"web_search"}`)},
			{Type: ToolTypeFunction, Name: "f"}},
		Usage: &ResponseUsage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}, Metadata: map[string]string{}}
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"error", "incomplete_details", "instructions", "max_output_tokens", "previous_response_id",
		"temperature", "top_p"} {
		if v, ok := got[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
	if got["tool_choice"] != "auto" || got["store"] != false || got["background"] != false ||
		!strings.Contains(string(b), `"tools":[{"type":"web_search"},{"type":"function","name":"f"}]`) ||
		!strings.Contains(string(b), `"output_tokens_details":{"reasoning_tokens":0}`) {
		t.Fatalf("%s", b)
	}
}
