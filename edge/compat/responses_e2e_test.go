package compat_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge/compat"
	"github.com/careerpath/llmgateway/providers/sim"
)

// responseTools are weatherTools as the Responses API declares them: the
// function's fields beside the type.
const responseTools = `[{"type": "function", "name": "get_weather", "description": "The weather in a city.", "strict": true,
	"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}},
  {"type": "function", "name": "get_time", "parameters": {"type": "object",
	"properties": {"zone": {"type": "string"}}, "required": ["zone"]}}]`

// responseRoutes are a route to each vendor.
var responseRoutes = []string{"openai_only", "anthropic_only"}

// outputText is the text of a response object's message items.
func outputText(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	items, _ := path(v, "output").([]any)
	for _, it := range items {
		if path(it, "type") != "message" {
			continue
		}
		if path(it, "role") != "assistant" {
			t.Fatalf("message item: %v", it)
		}
		parts, _ := path(it, "content").([]any)
		for _, p := range parts {
			if path(p, "type") != "output_text" || path(p, "annotations") == nil {
				t.Fatalf("content part: %v", p)
			}
			s, _ := path(p, "text").(string)
			b.WriteString(s)
		}
	}
	return b.String()
}

// functionCalls returns a response object's function_call items.
func functionCalls(t *testing.T, v any) []map[string]any {
	t.Helper()
	var out []map[string]any
	items, _ := path(v, "output").([]any)
	for _, it := range items {
		if path(it, "type") != "function_call" {
			continue
		}
		m := it.(map[string]any)
		id, _ := m["id"].(string)
		if !strings.HasPrefix(id, "fc_") || m["call_id"] == "" || m["name"] == "" || m["status"] != "completed" {
			t.Fatalf("function_call item: %v", m)
		}
		if _, ok := m["arguments"].(string); !ok {
			t.Fatalf("function_call item without arguments: %v", m)
		}
		out = append(out, m)
	}
	return out
}

// checkUsage checks a response object's usage: the API's fields, the
// total the sum of the parts.
func checkUsage(t *testing.T, v any) {
	t.Helper()
	in, _ := path(v, "usage", "input_tokens").(float64)
	out, _ := path(v, "usage", "output_tokens").(float64)
	_, cached := path(v, "usage", "input_tokens_details", "cached_tokens").(float64)
	_, reasoning := path(v, "usage", "output_tokens_details", "reasoning_tokens").(float64)
	if in <= 0 || out <= 0 || path(v, "usage", "total_tokens") != in+out || !cached || !reasoning {
		t.Fatalf("usage: %v", path(v, "usage"))
	}
}

func TestResponsesText(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		t.Run(route, func(t *testing.T) {
			c := g.post(t, "/v1/responses", `{"model": "`+route+`", "instructions": "Be brief.", "store": false,
				"input": "How do I become a data engineer?", "temperature": 0.5, "max_output_tokens": 200,
				"metadata": {"team": "careers"}}`)
			if c.status != http.StatusOK || c.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", c.status, c.body)
			}
			v := c.decode(t)
			id, _ := path(v, "id").(string)
			if !strings.HasPrefix(id, "resp_") || path(v, "object") != "response" || path(v, "status") != "completed" ||
				path(v, "created_at").(float64) <= 0 || path(v, "error") != nil || path(v, "incomplete_details") != nil {
				t.Fatalf("envelope: %s", c.body)
			}
			// The request's settings are echoed; model is the one that answered.
			if path(v, "instructions") != "Be brief." || path(v, "temperature") != 0.5 || path(v, "max_output_tokens") != 200.0 ||
				path(v, "store") != false || path(v, "metadata", "team") != "careers" || path(v, "text", "format", "type") != "text" ||
				path(v, "model") == route || path(v, "model") == "" {
				t.Fatalf("echo: %s", c.body)
			}
			items, _ := path(v, "output").([]any)
			if len(items) != 1 || path(items[0], "status") != "completed" || !strings.HasPrefix(path(items[0], "id").(string), "msg_") {
				t.Fatalf("output: %s", c.body)
			}
			if len(strings.Fields(outputText(t, v))) == 0 {
				t.Fatalf("no answer: %s", c.body)
			}
			checkUsage(t, v)
			if c.header.Get(compat.HeaderRoute) != route || "resp_"+c.header.Get(compat.HeaderResponseID) != id {
				t.Fatalf("headers: %v", c.header)
			}
		})
	}
	// One request, one upstream call each; the input as message items
	// with parts is the same conversation.
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 1 {
		t.Fatalf("the OpenAI simulator saw %d requests", n)
	}
	c := g.post(t, "/v1/responses", `{"model": "openai_only", "input": [
		{"role": "developer", "content": "Be brief."},
		{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
		{"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
		 "content": [{"type": "output_text", "text": "Hi!", "annotations": [], "logprobs": []}]},
		{"role": "user", "content": "How do I become a data engineer?"}]}`)
	if c.status != http.StatusOK || outputText(t, c.decode(t)) == "" {
		t.Fatalf("items: %d %s", c.status, c.body)
	}
}

func TestResponsesMaxOutputTokens(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		c := g.post(t, "/v1/responses", `{"model": "`+route+`", "input": "Tell me a long story", "max_output_tokens": 3}`)
		v := c.decode(t)
		if c.status != http.StatusOK || path(v, "status") != "incomplete" ||
			path(v, "incomplete_details", "reason") != "max_output_tokens" || path(v, "usage", "output_tokens") != 3.0 ||
			path(v, "output", 0, "status") != "incomplete" {
			t.Fatalf("%s: %d %s", route, c.status, c.body)
		}
	}
}

func TestResponsesToolRoundTrip(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		t.Run(route, func(t *testing.T) {
			c := g.post(t, "/v1/responses", `{"model": "`+route+`", "tools": `+responseTools+`,
				"tool_choice": {"type": "function", "name": "get_weather"}, "input": "Weather in Oslo?"}`)
			if c.status != http.StatusOK {
				t.Fatalf("%d %s", c.status, c.body)
			}
			v := c.decode(t)
			calls := functionCalls(t, v)
			if path(v, "status") != "completed" || len(calls) != 1 || calls[0]["name"] != "get_weather" ||
				path(v, "tool_choice", "name") != "get_weather" || path(v, "tools", 0, "strict") != true {
				t.Fatalf("answer: %s", c.body)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(calls[0]["arguments"].(string)), &args); err != nil || args["city"] == nil {
				t.Fatalf("arguments %v: %v", calls[0]["arguments"], err)
			}
			// The output goes back as it came, with the call's output.
			input := []any{map[string]any{"role": "user", "content": "Weather in Oslo?"}}
			input = append(input, path(v, "output").([]any)...)
			input = append(input, map[string]any{"type": "function_call_output", "call_id": calls[0]["call_id"], "output": "sunny, 21C"})
			body, _ := json.Marshal(map[string]any{"model": route, "tools": json.RawMessage(responseTools), "input": input})
			c = g.post(t, "/v1/responses", string(body))
			if c.status != http.StatusOK {
				t.Fatalf("second turn: %d %s", c.status, c.body)
			}
			v = c.decode(t)
			text := outputText(t, v)
			if path(v, "status") != "completed" || text == "" || len(functionCalls(t, v)) != 0 {
				t.Fatalf("second turn: %s", c.body)
			}
			if route == "openai_only" && !strings.Contains(text, "sunny, 21C") {
				t.Fatalf("the tool result did not reach the model: %s", c.body)
			}
		})
	}
}

func TestResponsesJSONSchema(t *testing.T) {
	g := startGateway(t, nil)
	for _, route := range responseRoutes {
		c := g.post(t, "/v1/responses", `{"model": "`+route+`", "input": "Plan my week",
			"text": {"format": {"type": "json_schema", "name": "plan", "strict": true, "schema":
			{"type": "object", "properties": {"steps": {"type": "array", "items": {"type": "string"}}}, "required": ["steps"],
			 "additionalProperties": false}}}}`)
		if c.status != http.StatusOK {
			t.Fatalf("%s: %d %s", route, c.status, c.body)
		}
		v := c.decode(t)
		var answer struct{ Steps []string }
		dec := json.NewDecoder(strings.NewReader(outputText(t, v)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&answer); err != nil || answer.Steps == nil {
			t.Fatalf("%s: answer %s: %v", route, c.body, err)
		}
		if path(v, "text", "format", "name") != "plan" {
			t.Fatalf("%s: echo %s", route, c.body)
		}
	}
}

func TestResponsesRefusals(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct{ body, param, says string }{
		{`{"model": "openai_only", "input": "Hi", "previous_response_id": "resp_1"}`, "previous_response_id", "stateless"},
		{`{"model": "openai_only", "input": "Hi", "store": true}`, "store", "store: false"},
		{`{"model": "openai_only", "input": "Hi", "background": true}`, "background", "stateless"},
		{`{"model": "openai_only", "input": "Hi", "conversation": "conv_1"}`, "conversation", "stateless"},
		{`{"model": "openai_only", "input": "Hi", "tools": [{"type": "web_search"}]}`, "tools[0].type", `"web_search"`},
		{`{"model": "openai_only", "input": "Hi", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}`, "tools[0].type", `"file_search"`},
		{`{"model": "openai_only", "input": "Hi", "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}`, "tools[0].type", `"code_interpreter"`},
		{`{"model": "openai_only", "input": "Hi", "tools": [{"type": "mcp", "server_label": "x"}]}`, "tools[0].type", `"mcp"`},
		{`{"model": "openai_only", "input": "Hi", "include": ["message.output_text.logprobs"]}`, "include[0]", "logprobs"},
		{`{"model": "openai_only", "input": "Hi", "frequency_penalty": 1}`, "frequency_penalty", "unknown parameter"},
		{`{"model": "openai_only", "input": [{"role": "user", "content": "Hi", "foo": 1}]}`, "input[0].foo", "unknown parameter"},
		{`{"model": "openai_only", "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi", "x": 1}]}]}`, "input[0].content[0].x", "unknown parameter"},
		{`{"model": "openai_only", "input": "Hi", "tools": [{"type": "function", "name": "f", "bogus": 1}]}`, "tools[0].bogus", "unknown parameter"},
		{`{"model": "openai_only", "input": "Hi", "text": {"format": {"type": "json_schema", "name": "x", "schema": {}, "extra": 1}}}`, "text.format.extra", "unknown parameter"},
		{`{"model": "openai_only", "input": [{"type": "reasoning", "summary": []}]}`, "input[0].summary", "unknown parameter"},
		{`{"model": "openai_only", "input": [{"type": "item_reference", "id": "msg_1"}]}`, "input[0].type", `"item_reference"`},
		{`{"model": "openai_only", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}`, "input[0].content[0].type", "input_file"},
		{`{"model": "openai_only", "input": [{"type": "function_call", "call_id": "c", "name": "f", "role": "user"}]}`, "input[0].role", "function_call"},
		{`{"model": "openai_only", "input": [{"type": "function_call_output", "output": "x"}]}`, "input[0].call_id", "required"},
		{`{"model": "openai_only", "input": "Hi", "tool_choice": {"type": "web_search_preview"}}`, "tool_choice.type", "only function"},
		{`{"model": "openai_only", "input": "Hi", "tool_choice": {"name": "f"}}`, "", "object with a type"},
		{`{"model": "openai_only", "input": "Hi", "tool_choice": {"type": "function", "name": "f", "x": 1}}`, "tool_choice.x", "unknown parameter"},
		{`{"model": "openai_only", "input": "Hi", "text": {"format": {"type": "grammar"}}}`, "text.format.type", `"grammar"`},
		{`{"model": "openai_only", "input": "Hi", "reasoning": {"effort": "low", "summary": "auto"}}`, "reasoning.summary", "summaries"},
		{`{"model": "openai_only", "input": "Hi", "reasoning": {"effort": "extreme"}}`, "reasoning.effort", "extreme"},
		{`{"model": "openai_only", "input": "Hi", "prompt": {"id": "pmpt_1"}}`, "prompt", "stored prompts"},
		{`{"model": "openai_only", "input": "Hi", "truncation": "auto"}`, "truncation", "auto"},
		{`{"model": "openai_only", "input": 5}`, "", "input must be"},
		{`{"model": "openai_only", "input": [{"role": 5, "content": "Hi"}]}`, "input[0].role", "must not be a JSON number"},
		{`{"model": "openai_only", "input": [{"role": "user", "content": [{"type": "input_text", "text": true}]}]}`, "input[0].content[0].text", "must not be a JSON bool"},
		{`{"model": "openai_only", "input": "Hi", "tools": [{"type": "function", "name": 1}]}`, "tools[0].name", "must not be a JSON number"},
		{`{"model": "openai_only", "input": "Hi", "temperature": "hot"}`, "temperature", "must not be a JSON string"},
		{`{"model": "openai_only"}`, "input", "input is required"},
		{`{"input": "Hi"}`, "model", "model is required"},
	} {
		c := g.post(t, "/v1/responses", tc.body)
		v := c.decode(t)
		msg, _ := path(v, "error", "message").(string)
		if c.status != http.StatusBadRequest || path(v, "error", "type") != "invalid_request_error" ||
			(tc.param != "" && path(v, "error", "param") != tc.param) || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %s", tc.body, c.status, c.body)
		}
	}
	// None of them reached a provider.
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 0 {
		t.Fatalf("the simulator saw %d requests", n)
	}
	// Stored responses are not kept: their endpoints say so in OpenAI's
	// error shape.
	for _, p := range []string{"/v1/responses/resp_1", "/v1/responses/resp_1/input_items", "/v1/responses/input_tokens"} {
		c := g.do(t, http.MethodGet, p, "")
		if v := c.decode(t); c.status != http.StatusNotFound || !strings.Contains(path(v, "error", "message").(string), "stateless") {
			t.Errorf("%s: %d %s", p, c.status, c.body)
		}
	}
	if c := g.do(t, http.MethodGet, "/v1/responses", ""); c.status != http.StatusMethodNotAllowed || c.header.Get("Allow") != "POST" {
		t.Errorf("GET /v1/responses: %d %v", c.status, c.header)
	}
	// A route unknown is 404, as on the other APIs.
	c := g.post(t, "/v1/responses", `{"model": "nope", "input": "Hi"}`)
	if v := c.decode(t); c.status != http.StatusNotFound || path(v, "error", "code") != "model_not_found" {
		t.Fatalf("unknown model: %d %s", c.status, c.body)
	}
}

// TestResponsesThroughTheChain checks that a Responses request meets the
// gateway's interceptors as a chat request does: keys and route
// permissions, quotas, and the answer cache.
func TestResponsesThroughTheChain(t *testing.T) {
	g := startGateway(t, map[string]string{config.ClientsFile: clientsJSON, config.RateLimitsFile: `{"limits": [
		{"name": "tiny", "scope": ["route"], "routes": ["openai_only"], "requests_per_minute": 2}]}`})
	body := `{"model": "career_advice", "input": "Hi", "temperature": 0, "safety_identifier": "user-1"}`
	c := g.post(t, "/v1/responses", body)
	if v := c.decode(t); c.status != http.StatusUnauthorized || path(v, "error", "type") != "invalid_request_error" {
		t.Fatalf("no key: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/responses", `{"model": "anthropic_only", "input": "Hi"}`, "Authorization", "Bearer "+appKey)
	if c.status != http.StatusForbidden {
		t.Fatalf("route not allowed: %d %s", c.status, c.body)
	}
	// temperature 0 is cached: the second answer, unary or streamed, is a
	// hit that no provider is asked for (the subject keeps the A/B
	// assignment, and so the cache key, the same).
	first := g.post(t, "/v1/responses", body, "Authorization", "Bearer "+appKey)
	second := g.post(t, "/v1/responses", body, "Authorization", "Bearer "+appKey)
	if first.status != http.StatusOK || second.status != http.StatusOK || second.header.Get(compat.HeaderServedFrom) != "cache_hit" ||
		outputText(t, first.decode(t)) != outputText(t, second.decode(t)) {
		t.Fatalf("cache: %d %v %s", second.status, second.header, second.body)
	}
	upstream := g.openai.Stats().Requests[sim.PathChatCompletions] + g.anthropic.Stats().Requests[sim.PathMessages]
	c = g.post(t, "/v1/responses", `{"model": "career_advice", "input": "Hi", "temperature": 0, "safety_identifier": "user-1", "stream": true}`,
		"Authorization", "Bearer "+appKey)
	_, final := responseStream(t, c)
	if c.trailer.Get(compat.HeaderServedFrom) != "cache_hit" || outputText(t, final) != outputText(t, first.decode(t)) {
		t.Fatalf("streamed hit: %v %v", c.trailer, final)
	}
	if n := g.openai.Stats().Requests[sim.PathChatCompletions] + g.anthropic.Stats().Requests[sim.PathMessages]; n != upstream || n != 1 {
		t.Fatalf("providers asked %d times", n)
	}
	// The route's quota: two requests a minute, the third refused with
	// OpenAI's rate-limit error and Retry-After.
	for i := range 3 {
		c = g.post(t, "/v1/responses", `{"model": "openai_only", "input": "Hi"}`, "Authorization", "Bearer "+appKey)
		if i < 2 && c.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, c.status, c.body)
		}
	}
	if v := c.decode(t); c.status != http.StatusTooManyRequests || c.header.Get("Retry-After") == "" ||
		path(v, "error", "code") != "rate_limit_exceeded" {
		t.Fatalf("quota: %d %v %s", c.status, c.header, c.body)
	}
}

// TestResponsesReasoningEffort: reasoning.effort reaches a provider that
// takes an effort, and is refused by name by one that cannot honour it.
func TestResponsesReasoningEffort(t *testing.T) {
	g := startGateway(t, nil)
	c := g.post(t, "/v1/responses", `{"model": "openai_only", "input": "Hi", "reasoning": {"effort": "low"}}`)
	if v := c.decode(t); c.status != http.StatusOK || path(v, "reasoning", "effort") != "low" {
		t.Fatalf("OpenAI: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/responses", `{"model": "anthropic_only", "input": "Hi", "reasoning": {"effort": "low"}}`)
	if v := c.decode(t); c.status != http.StatusBadRequest || path(v, "error", "param") != "reasoning.effort" {
		t.Fatalf("Anthropic: %d %s", c.status, c.body)
	}
}
