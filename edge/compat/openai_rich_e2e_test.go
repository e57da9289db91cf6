package compat_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/edge/compat"
)

const weatherTools = `[{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
	"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
	"properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}]`

// toolCall is an assembled call of an answer.
type toolCall struct{ id, name, args string }

// unaryCalls returns the tool calls of a chat.completion body.
func unaryCalls(t *testing.T, v map[string]any) []toolCall {
	t.Helper()
	raw, _ := path(v, "choices", 0, "message", "tool_calls").([]any)
	out := make([]toolCall, len(raw))
	for i := range raw {
		if path(raw[i], "type") != "function" {
			t.Fatalf("call %d: %v", i, raw[i])
		}
		id, _ := path(raw[i], "id").(string)
		name, _ := path(raw[i], "function", "name").(string)
		args, _ := path(raw[i], "function", "arguments").(string)
		out[i] = toolCall{id, name, args}
	}
	return out
}

func TestChatCompletionToolRoundTrip(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range []string{"openai_only", "anthropic_only"} {
		t.Run(route, func(t *testing.T) {
			c := g.post(t, "/v1/chat/completions", `{"model": "`+route+`", "tools": `+weatherTools+`,
				"tool_choice": {"type": "function", "function": {"name": "get_weather"}},
				"messages": [{"role": "user", "content": "Weather in Oslo?"}]}`)
			if c.status != http.StatusOK {
				t.Fatalf("%d %s", c.status, c.body)
			}
			v := c.decode(t)
			calls := unaryCalls(t, v)
			if path(v, "choices", 0, "finish_reason") != "tool_calls" || len(calls) != 1 ||
				calls[0].name != "get_weather" || calls[0].id == "" || path(v, "choices", 0, "message", "content") != nil {
				t.Fatalf("answer: %s", c.body)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(calls[0].args), &args); err != nil || args["city"] == nil {
				t.Fatalf("arguments %q: %v", calls[0].args, err)
			}
			if _, ok := path(v, "usage", "prompt_tokens_details", "cached_tokens").(float64); !ok {
				t.Fatalf("usage: %s", c.body)
			}
			msgs, _ := json.Marshal([]any{
				map[string]any{"role": "user", "content": "Weather in Oslo?"},
				path(v, "choices", 0, "message"),
				map[string]any{"role": "tool", "tool_call_id": calls[0].id, "content": "sunny, 21C"},
			})
			c = g.post(t, "/v1/chat/completions", `{"model": "`+route+`", "tools": `+weatherTools+`, "messages": `+string(msgs)+`}`)
			if c.status != http.StatusOK {
				t.Fatalf("second turn: %d %s", c.status, c.body)
			}
			v = c.decode(t)
			text, _ := path(v, "choices", 0, "message", "content").(string)
			if path(v, "choices", 0, "finish_reason") != "stop" || text == "" || path(v, "choices", 0, "message", "tool_calls") != nil {
				t.Fatalf("second turn: %s", c.body)
			}
			if route == "openai_only" && !strings.Contains(text, "sunny, 21C") {
				t.Fatalf("the tool result did not reach the model: %s", c.body)
			}
			if c.header.Get(compat.HeaderRoute) != route {
				t.Fatalf("route header %q", c.header.Get(compat.HeaderRoute))
			}
		})
	}
}

// streamedCalls reads a streamed answer chunk by chunk, checking that each
// tool-call delta is shaped as OpenAI sends it, and returns the assembled
// calls, the finish reason and the usage chunk's usage.
func streamedCalls(t *testing.T, c call) (calls []toolCall, finish string, usage map[string]any) {
	t.Helper()
	evs := c.events(t)
	if len(evs) < 3 || evs[len(evs)-1].data != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]:\n%s", c.body)
	}
	for i, e := range evs[:len(evs)-1] {
		v := e.obj(t)
		if u, ok := path(v, "usage").(map[string]any); ok {
			if len(path(v, "choices").([]any)) != 0 || i != len(evs)-2 {
				t.Fatalf("usage chunk %d: %s", i, e.data)
			}
			usage = u
			continue
		}
		if fr, _ := path(v, "choices", 0, "finish_reason").(string); fr != "" {
			finish = fr
			continue
		}
		deltas, _ := path(v, "choices", 0, "delta", "tool_calls").([]any)
		for _, d := range deltas {
			idx := int(path(d, "index").(float64))
			fn, _ := path(d, "function").(map[string]any)
			args, hasArgs := fn["arguments"].(string)
			switch {
			case idx == len(calls):
				id, _ := path(d, "id").(string)
				name, _ := fn["name"].(string)
				if id == "" || path(d, "type") != "function" || name == "" || !hasArgs || args != "" {
					t.Fatalf("first delta of call %d: %s", idx, e.data)
				}
				calls = append(calls, toolCall{id: id, name: name})
			case idx < len(calls):
				if _, ok := path(d, "id").(string); ok || fn["name"] != nil || !hasArgs {
					t.Fatalf("later delta of call %d: %s", idx, e.data)
				}
				calls[idx].args += args
			default:
				t.Fatalf("call index %d skips ahead: %s", idx, e.data)
			}
		}
	}
	return calls, finish, usage
}

func TestChatCompletionStreamParallelToolCalls(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range []string{"openai_only", "anthropic_only"} {
		t.Run(route, func(t *testing.T) {
			c := g.post(t, "/v1/chat/completions", `{"model": "`+route+`", "stream": true, "stream_options": {"include_usage": true},
				"tools": `+weatherTools+`, "tool_choice": "required", "parallel_tool_calls": true,
				"messages": [{"role": "user", "content": "Weather and time in Oslo?"}]}`)
			if c.status != http.StatusOK {
				t.Fatalf("%d %s", c.status, c.body)
			}
			calls, finish, usage := streamedCalls(t, c)
			if finish != "tool_calls" || usage == nil || usage["completion_tokens"].(float64) <= 0 {
				t.Fatalf("finish %q usage %v:\n%s", finish, usage, c.body)
			}
			want := 2
			if route == "anthropic_only" {
				want = 1 // the Anthropic simulator calls one tool at a time
			}
			if len(calls) < want || calls[0].name != "get_weather" {
				t.Fatalf("calls %+v:\n%s", calls, c.body)
			}
			for _, tc := range calls {
				var args map[string]any
				if err := json.Unmarshal([]byte(tc.args), &args); err != nil || len(args) == 0 {
					t.Fatalf("arguments of %s %q: %v", tc.name, tc.args, err)
				}
			}
		})
	}
}

func TestChatCompletionJSONSchemaAnswer(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range []string{"openai_only", "anthropic_only"} {
		c := g.post(t, "/v1/chat/completions", `{"model": "`+route+`", "messages": [{"role": "user", "content": "Plan my week"}],
			"response_format": {"type": "json_schema", "json_schema": {"name": "plan", "strict": true, "schema":
			{"type": "object", "properties": {"steps": {"type": "array", "items": {"type": "string"}}}, "required": ["steps"],
			 "additionalProperties": false}}}}`)
		if c.status != http.StatusOK {
			t.Fatalf("%s: %d %s", route, c.status, c.body)
		}
		v := c.decode(t)
		text, _ := path(v, "choices", 0, "message", "content").(string)
		var answer struct{ Steps []string }
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&answer); err != nil || answer.Steps == nil {
			t.Fatalf("%s: answer %q: %v", route, text, err)
		}
	}
}

func TestChatCompletionImagePart(t *testing.T) {
	g := startGateway(t, nil)
	const png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	plain := g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "What is this?"}]}`)
	for _, url := range []string{png, "https://example.com/a.png"} {
		c := g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": [
			{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "`+url+`", "detail": "auto"}}]}]}`)
		if c.status != http.StatusOK || plain.status != http.StatusOK {
			t.Fatalf("%d %s", c.status, c.body)
		}
		// The simulator counts an image as OpenAI counts a low-detail one.
		with, without := path(c.decode(t), "usage", "prompt_tokens").(float64), path(plain.decode(t), "usage", "prompt_tokens").(float64)
		if with-without != 85 {
			t.Fatalf("prompt tokens with the image %v, without %v", with, without)
		}
	}
}
