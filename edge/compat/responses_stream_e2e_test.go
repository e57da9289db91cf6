package compat_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/edge/compat"
	"github.com/careerpath/llmgateway/providers/sim"
)

// responseStream reads a Responses event stream event by event, as the
// SDK's accumulator does, checking each against the output assembled so
// far: event names match their type, sequence numbers count from 0,
// items are added before their parts and deltas, each done event repeats
// what the deltas built, and the last event's response holds that output.
// It returns the event types in order and the last event's response.
func responseStream(t *testing.T, c call) (types []string, final map[string]any) {
	t.Helper()
	if c.status != http.StatusOK || !strings.HasPrefix(c.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %v %s", c.status, c.header, c.body)
	}
	var output []map[string]any
	closed := map[int]bool{}
	item := func(v map[string]any) (int, map[string]any) {
		i := int(path(v, "output_index").(float64))
		if i >= len(output) || closed[i] {
			t.Fatalf("event on item %d, which is not open: %v", i, v)
		}
		if id, ok := v["item_id"]; ok && id != output[i]["id"] {
			t.Fatalf("item_id %v of item %d (%v)", id, i, output[i]["id"])
		}
		return i, output[i]
	}
	textOf := func(it map[string]any) string { return path(it, "content", 0, "text").(string) }
	evs := c.events(t)
	for n, e := range evs {
		v := e.obj(t)
		typ, _ := v["type"].(string)
		if typ != e.name || path(v, "sequence_number") != float64(n) {
			t.Fatalf("event %d %q: %s", n, e.name, e.data)
		}
		types = append(types, typ)
		if final != nil {
			t.Fatalf("event after the response ended: %s", e.data)
		}
		switch typ {
		case "response.created", "response.in_progress":
			if n > 1 || path(v, "response", "status") != "in_progress" || len(path(v, "response", "output").([]any)) != 0 {
				t.Fatalf("event %d: %s", n, e.data)
			}
		case "response.output_item.added":
			it := path(v, "item").(map[string]any)
			if int(path(v, "output_index").(float64)) != len(output) || it["status"] != "in_progress" {
				t.Fatalf("added: %s", e.data)
			}
			if (it["type"] == "message" && len(it["content"].([]any)) != 0) || (it["type"] == "function_call" && it["arguments"] != "") {
				t.Fatalf("an item opens empty: %s", e.data)
			}
			output = append(output, it)
		case "response.content_part.added":
			_, it := item(v)
			if path(v, "content_index") != 0.0 || len(it["content"].([]any)) != 0 || path(v, "part", "text") != "" {
				t.Fatalf("part added: %s", e.data)
			}
			it["content"] = []any{path(v, "part")}
		case "response.output_text.delta":
			_, it := item(v)
			p := path(it, "content", 0).(map[string]any)
			p["text"] = p["text"].(string) + v["delta"].(string)
		case "response.output_text.done", "response.content_part.done":
			_, it := item(v)
			got := v["text"]
			if typ == "response.content_part.done" {
				got = path(v, "part", "text")
			}
			if got != textOf(it) {
				t.Fatalf("%s says %q, the deltas %q", typ, got, textOf(it))
			}
		case "response.function_call_arguments.delta":
			_, it := item(v)
			it["arguments"] = it["arguments"].(string) + v["delta"].(string)
		case "response.function_call_arguments.done":
			_, it := item(v)
			if v["arguments"] != it["arguments"] || v["name"] != it["name"] {
				t.Fatalf("arguments done %s, the deltas %q", e.data, it["arguments"])
			}
		case "response.output_item.done":
			i, it := item(v)
			done := path(v, "item").(map[string]any)
			if done["status"] == "in_progress" || done["id"] != it["id"] || done["arguments"] != it["arguments"] ||
				(it["type"] == "message" && path(done, "content", 0, "text") != textOf(it)) {
				t.Fatalf("item done %s, assembled %v", e.data, it)
			}
			output[i], closed[i] = done, true
		case "error":
			if n+2 != len(evs) || v["message"] == "" || v["code"] == nil {
				t.Fatalf("error event: %s", e.data)
			}
		case "response.completed", "response.incomplete", "response.failed":
			final = path(v, "response").(map[string]any)
			if typ != "response.failed" {
				if len(closed) != len(output) {
					t.Fatalf("%s with items still open", typ)
				}
				got, _ := json.Marshal(final["output"])
				want, _ := json.Marshal(output)
				if !jsonEqual(got, want) {
					t.Fatalf("final output %s, assembled %s", got, want)
				}
			}
		default:
			t.Fatalf("unexpected event %s", e.data)
		}
	}
	if final == nil {
		t.Fatalf("the stream ended without its response:\n%s", c.body)
	}
	return types, final
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestResponsesStream(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		t.Run(route, func(t *testing.T) {
			c := g.post(t, "/v1/responses", `{"model": "`+route+`", "stream": true, "instructions": "Be brief.",
				"input": [{"role": "user", "content": [{"type": "input_text", "text": "How do I become a data engineer?"}]}]}`)
			types, final := responseStream(t, c)
			deltas := strings.Count(strings.Join(types, " "), "response.output_text.delta")
			want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}
			for range deltas {
				want = append(want, "response.output_text.delta")
			}
			want = append(want, "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed")
			if deltas < 2 || !reflect.DeepEqual(types, want) {
				t.Fatalf("events %v", types)
			}
			if final["status"] != "completed" || final["model"] == route || outputText(t, final) == "" || final["instructions"] != "Be brief." {
				t.Fatalf("final: %v", final)
			}
			checkUsage(t, final)
			if c.trailer.Get(compat.HeaderRoute) != route || c.trailer.Get(compat.HeaderResponseID) == "" {
				t.Fatalf("trailers: %v", c.trailer)
			}
		})
	}
}

func TestResponsesStreamToolCalls(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		t.Run(route, func(t *testing.T) {
			c := g.post(t, "/v1/responses", `{"model": "`+route+`", "stream": true, "tools": `+responseTools+`,
				"tool_choice": "required", "parallel_tool_calls": true, "input": "Weather and time in Oslo?"}`)
			types, final := responseStream(t, c)
			calls := functionCalls(t, final)
			want := 2
			if route == "anthropic_only" {
				want = 1 // the Anthropic simulator calls one tool at a time
			}
			if final["status"] != "completed" || len(calls) < want || calls[0]["name"] != "get_weather" ||
				!strings.Contains(strings.Join(types, " "), "response.function_call_arguments.delta") {
				t.Fatalf("events %v, final %v", types, final)
			}
			for _, fc := range calls {
				var args map[string]any
				if err := json.Unmarshal([]byte(fc["arguments"].(string)), &args); err != nil || len(args) == 0 {
					t.Fatalf("arguments of %v: %v", fc, err)
				}
			}
		})
	}
}

func TestResponsesStreamIncomplete(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		c := g.post(t, "/v1/responses", `{"model": "`+route+`", "stream": true, "max_output_tokens": 4, "input": "Tell me a story"}`)
		types, final := responseStream(t, c)
		if types[len(types)-1] != "response.incomplete" || final["status"] != "incomplete" ||
			path(final, "incomplete_details", "reason") != "max_output_tokens" || path(final, "usage", "output_tokens") != 4.0 {
			t.Fatalf("%s: events %v, final %v", route, types, final)
		}
	}
}

func TestResponsesStreamFailures(t *testing.T) {
	g := startGateway(t, nil)
	// A stream that fails before it starts is a plain error answer.
	if err := g.openai.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	c := g.post(t, "/v1/responses", `{"model": "openai_only", "stream": true, "input": "Hi"}`)
	if v := c.decode(t); c.status != http.StatusServiceUnavailable || path(v, "error", "type") != "server_error" {
		t.Fatalf("stream that never started: %d %s", c.status, c.body)
	}
	// A stream cut off after it started ends with an error event and
	// response.failed, never response.completed.
	if err := g.openai.SetFault(sim.Fault{DisconnectAfterTokens: 3}); err != nil {
		t.Fatal(err)
	}
	c = g.post(t, "/v1/responses", `{"model": "openai_only", "stream": true, "input": "Hi"}`)
	types, final := responseStream(t, c)
	if n := len(types); n < 5 || types[n-2] != "error" || types[n-1] != "response.failed" {
		t.Fatalf("events %v", types)
	}
	if final["status"] != "failed" || path(final, "error", "code") != "server_error" || path(final, "error", "message") == "" {
		t.Fatalf("failed response: %v", final)
	}
}
