package compat_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const personSchema = `{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
	"required": ["name", "age"], "additionalProperties": false}`

// TestMessagesStructuredOutput asks for a JSON-schema answer in both of
// Anthropic's spellings, on an Anthropic-backed and an OpenAI-backed
// route: the answer is one text block holding JSON of that schema.
func TestMessagesStructuredOutput(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct{ name, model, param string }{
		{"output_config anthropic", "anthropic_only", `"output_config": {"format": {"type": "json_schema", "schema": ` + personSchema + `}}`},
		{"output_config openai", "openai_only", `"output_config": {"format": {"type": "json_schema", "schema": ` + personSchema + `}}`},
		{"output_format anthropic", "anthropic_only", `"output_format": {"type": "json_schema", "schema": ` + personSchema + `}`},
	} {
		c := g.post(t, "/v1/messages", `{"model": "`+tc.model+`", "max_tokens": 200, `+tc.param+`,
			"messages": [{"role": "user", "content": "Who are you?"}]}`)
		if c.status != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.name, c.status, c.body)
		}
		v := c.decode(t)
		content, _ := path(v, "content").([]any)
		if len(content) != 1 || path(v, "content", 0, "type") != "text" {
			t.Fatalf("%s: %s", tc.name, c.body)
		}
		var person struct {
			Name *string `json:"name"`
			Age  *int    `json:"age"`
		}
		dec := json.NewDecoder(strings.NewReader(path(v, "content", 0, "text").(string)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&person); err != nil || person.Name == nil || person.Age == nil {
			t.Fatalf("%s: the answer is not JSON of the schema (%v): %s", tc.name, err, c.body)
		}
	}
}

// TestMessagesRichRefusals: what the gateway cannot honour is refused by
// name, never dropped.
func TestMessagesRichRefusals(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct{ name, body, field string }{
		{"format type", `"output_config": {"format": {"type": "json_object"}}`, "output_config.format.type"},
		{"no schema", `"output_format": {"type": "json_schema"}`, "output_format.schema"},
		{"server tool", `"tools": [{"type": "web_search_20250305", "name": "web_search"}]`, "tools[0].type"},
		{"mcp", `"mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]`, "mcp_servers"},
		{"tool cache", `"tools": [{"name": "f", "input_schema": {}, "cache_control": {"type": "ephemeral"}}]`, "tools[0].cache_control"},
		{"no input_schema", `"tools": [{"name": "f"}]`, "tools[0].input_schema"},
		{"tool_choice", `"tool_choice": {"type": "sometimes"}`, "tool_choice.type"},
		{"thinking", `"thinking": {"type": "adaptive"}`, "thinking.type"},
		{"thinking budget", `"thinking": {"type": "enabled"}`, "thinking.budget_tokens"},
		{"cache ttl", `"system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral", "ttl": "2h"}}]`, "system[0].cache_control.ttl"},
		{"image source", `"system": "s", "stop_sequences": ["x"], "temperature": 0,
			"top_p": 1, "metadata": {}, "tool_choice": {"type": "auto"}, "tools": [], "thinking": {"type": "disabled"},
			"output_config": {}, "output_format": null, "mcp_servers": [], "top_k": 1, "stream": false, "service_tier": "auto",
			"container": null, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]`,
			"messages[0].content[0].source.type"},
		{"document", `"messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": "d"}}]}]`,
			"messages[0].content[0].type"},
		{"tool_use from user", `"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]`,
			"messages[0].content[0].type"},
		{"both spellings", `"output_config": {"format": {"type": "json_schema", "schema": {}}},
			"output_format": {"type": "json_schema", "schema": {}}`, "output_format"},
	} {
		// A later "messages" key replaces this one.
		c := g.post(t, "/v1/messages", `{"model": "anthropic_only", "max_tokens": 20,
			"messages": [{"role": "user", "content": "Hi"}], `+tc.body+`}`)
		v := c.decode(t)
		msg, _ := path(v, "error", "message").(string)
		if c.status != http.StatusBadRequest || path(v, "error", "type") != "invalid_request_error" || !strings.Contains(msg, tc.field) {
			t.Errorf("%s: %d %s", tc.name, c.status, c.body)
		}
	}
}

const messagesWeatherTools = `"tools": [
	{"name": "get_weather", "description": "Weather of a city", "input_schema": {"type": "object",
		"properties": {"city": {"type": "string"}}, "required": ["city"]}},
	{"type": "custom", "name": "get_time", "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}}}]`

// TestMessagesToolRoundTrip runs a tool round trip unary on an
// Anthropic-backed and an OpenAI-backed route: the answer is one tool_use
// block (parallel use disabled) with stop_reason tool_use; the blocks sent
// back with a tool_result are answered with text.
func TestMessagesToolRoundTrip(t *testing.T) {
	g := startGateway(t, nil)
	for _, model := range []string{"anthropic_only", "openai_only"} {
		first := `{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?", "cache_control": {"type": "ephemeral"}}]}`
		c := g.post(t, "/v1/messages", `{"model": "`+model+`", "max_tokens": 200, `+messagesWeatherTools+`,
			"tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
			"system": [{"type": "text", "text": "Use tools.", "cache_control": {"type": "ephemeral"}}],
			"messages": [`+first+`]}`)
		if c.status != http.StatusOK {
			t.Fatalf("%s: %d %s", model, c.status, c.body)
		}
		v := c.decode(t)
		content, _ := path(v, "content").([]any)
		if path(v, "stop_reason") != "tool_use" || len(content) != 1 || path(v, "content", 0, "type") != "tool_use" ||
			path(v, "content", 0, "name") != "get_weather" || path(v, "content", 0, "id") == "" {
			t.Fatalf("%s: %s", model, c.body)
		}
		if city, _ := path(v, "content", 0, "input", "city").(string); city == "" {
			t.Fatalf("%s: input: %s", model, c.body)
		}
		assistant, _ := json.Marshal(content)
		id := path(v, "content", 0, "id").(string)
		c = g.post(t, "/v1/messages", `{"model": "`+model+`", "max_tokens": 50, `+messagesWeatherTools+`, "messages": [`+first+`,
			{"role": "assistant", "content": `+string(assistant)+`},
			{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "`+id+`", "content": [{"type": "text", "text": "18C, sunny"}]}]}]}`)
		if c.status != http.StatusOK {
			t.Fatalf("%s: turn 2: %d %s", model, c.status, c.body)
		}
		v = c.decode(t)
		if path(v, "stop_reason") == "tool_use" || path(v, "content", 0, "type") != "text" || path(v, "content", 0, "text") == "" {
			t.Fatalf("%s: turn 2: %s", model, c.body)
		}
		// A failed tool's result is sent as an error where the vendor
		// has the flag, and refused by name where it has not.
		c = g.post(t, "/v1/messages", `{"model": "`+model+`", "max_tokens": 50, `+messagesWeatherTools+`, "messages": [`+first+`,
			{"role": "assistant", "content": `+string(assistant)+`},
			{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "`+id+`", "is_error": true, "content": "no such city"}]}]}`)
		if model == "openai_only" {
			if c.status != http.StatusBadRequest || !strings.Contains(string(c.body), "is_error") {
				t.Fatalf("%s: error result: %d %s", model, c.status, c.body)
			}
		} else if c.status != http.StatusOK {
			t.Fatalf("%s: error result: %d %s", model, c.status, c.body)
		}
	}
}

// TestMessagesForcedTool forces a named tool with tool_choice "tool".
func TestMessagesForcedTool(t *testing.T) {
	g := startGateway(t, nil)
	for _, model := range []string{"anthropic_only", "openai_only"} {
		c := g.post(t, "/v1/messages", `{"model": "`+model+`", "max_tokens": 200, `+messagesWeatherTools+`,
			"tool_choice": {"type": "tool", "name": "get_time"}, "messages": [{"role": "user", "content": "Time?"}]}`)
		v := c.decode(t)
		if c.status != http.StatusOK || path(v, "content", 0, "name") != "get_time" || path(v, "stop_reason") != "tool_use" {
			t.Fatalf("%s: %d %s", model, c.status, c.body)
		}
	}
}

// TestMessagesImage sends images as base64 data and as a URL.
func TestMessagesImage(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct{ model, source string }{
		{"anthropic_only", `{"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}`},
		{"anthropic_only", `{"type": "url", "url": "https://example.com/cat.png"}`},
		{"openai_only", `{"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}`},
	} {
		c := g.post(t, "/v1/messages", `{"model": "`+tc.model+`", "max_tokens": 20, "messages": [{"role": "user", "content": [
			{"type": "image", "source": `+tc.source+`}, {"type": "text", "text": "What is this?"}]}]}`)
		v := c.decode(t)
		if c.status != http.StatusOK || path(v, "content", 0, "type") != "text" {
			t.Fatalf("%s %s: %d %s", tc.model, tc.source, c.status, c.body)
		}
	}
}

// streamedMessage assembles a Messages event stream as the SDK does,
// checking each event's order and shape: it returns the content blocks
// (tool_use inputs parsed from their partial_json), the stop reason and
// the event names.
func streamedMessage(t *testing.T, c call) (blocks []map[string]any, stop string, names []string) {
	t.Helper()
	if c.status != http.StatusOK {
		t.Fatalf("%d %s", c.status, c.body)
	}
	var partial []strings.Builder
	open := -1
	for _, e := range c.events(t) {
		v := e.obj(t)
		if path(v, "type") != e.name {
			t.Fatalf("event %s carries type %v", e.name, path(v, "type"))
		}
		names = append(names, e.name)
		switch e.name {
		case "content_block_start":
			if open != -1 || path(v, "index") != float64(len(blocks)) {
				t.Fatalf("block started out of order: %s", e.data)
			}
			open = len(blocks)
			b, _ := path(v, "content_block").(map[string]any)
			if b["type"] == "tool_use" && (b["id"] == "" || b["name"] == "" || len(b["input"].(map[string]any)) != 0) {
				t.Fatalf("tool_use must start with an id, a name and empty input: %s", e.data)
			}
			blocks = append(blocks, b)
			partial = append(partial, strings.Builder{})
		case "content_block_delta":
			if path(v, "index") != float64(open) {
				t.Fatalf("delta of a block not open: %s", e.data)
			}
			b := blocks[open]
			switch want := map[string]string{"text_delta": "text", "input_json_delta": "tool_use", "thinking_delta": "thinking",
				"signature_delta": "thinking"}[path(v, "delta", "type").(string)]; {
			case want != b["type"]:
				t.Fatalf("%v in a %v block", path(v, "delta", "type"), b["type"])
			case path(v, "delta", "type") == "text_delta":
				b["text"] = b["text"].(string) + path(v, "delta", "text").(string)
			case path(v, "delta", "type") == "thinking_delta":
				b["thinking"] = b["thinking"].(string) + path(v, "delta", "thinking").(string)
			case path(v, "delta", "type") == "signature_delta":
				b["signature"] = b["signature"].(string) + path(v, "delta", "signature").(string)
			default:
				partial[open].WriteString(path(v, "delta", "partial_json").(string))
			}
		case "content_block_stop":
			if path(v, "index") != float64(open) {
				t.Fatalf("stop of a block not open: %s", e.data)
			}
			if blocks[open]["type"] == "tool_use" {
				var input map[string]any
				if err := json.Unmarshal([]byte(partial[open].String()), &input); err != nil {
					t.Fatalf("tool input %q: %v", partial[open].String(), err)
				}
				blocks[open]["input"] = input
			}
			open = -1
		case "message_delta":
			stop, _ = path(v, "delta", "stop_reason").(string)
			if _, ok := path(v, "usage", "output_tokens").(float64); !ok {
				t.Fatalf("message_delta without usage: %s", e.data)
			}
		}
	}
	if len(names) < 2 || names[0] != "message_start" || names[len(names)-1] != "message_stop" || open != -1 {
		t.Fatalf("events: %v", names)
	}
	return blocks, stop, names
}

// TestMessagesStreamTools streams a tool call on an Anthropic-backed and
// an OpenAI-backed route, assembles it from input_json_delta events, and
// streams the answer to its result.
func TestMessagesStreamTools(t *testing.T) {
	g := startGateway(t, nil)
	for _, model := range []string{"anthropic_only", "openai_only"} {
		first := `{"role": "user", "content": "Weather in Paris?"}`
		c := g.post(t, "/v1/messages", `{"model": "`+model+`", "max_tokens": 200, "stream": true, `+messagesWeatherTools+`,
			"tool_choice": {"type": "any"}, "messages": [`+first+`]}`)
		blocks, stop, names := streamedMessage(t, c)
		if stop != "tool_use" || len(blocks) < 1 || blocks[0]["type"] != "tool_use" || blocks[0]["name"] != "get_weather" {
			t.Fatalf("%s: %v %s %v", model, blocks, stop, names)
		}
		if city, _ := blocks[0]["input"].(map[string]any)["city"].(string); city == "" {
			t.Fatalf("%s: input %v", model, blocks[0])
		}
		assistant, _ := json.Marshal(blocks)
		var results []string
		for _, b := range blocks {
			results = append(results, `{"type": "tool_result", "tool_use_id": "`+b["id"].(string)+`", "content": "done"}`)
		}
		c = g.post(t, "/v1/messages", `{"model": "`+model+`", "max_tokens": 30, "stream": true, `+messagesWeatherTools+`, "messages": [`+first+`,
			{"role": "assistant", "content": `+string(assistant)+`},
			{"role": "user", "content": [`+strings.Join(results, ",")+`]}]}`)
		blocks, stop, _ = streamedMessage(t, c)
		if stop == "tool_use" || len(blocks) != 1 || blocks[0]["type"] != "text" || blocks[0]["text"] == "" {
			t.Fatalf("%s: turn 2: %v %s", model, blocks, stop)
		}
	}
}

// TestMessagesStreamThinking streams a thinking block with its signature
// before the text, and sends it back in the next turn.
func TestMessagesStreamThinking(t *testing.T) {
	g := startGateway(t, nil)
	c := g.post(t, "/v1/messages", `{"model": "anthropic_only", "max_tokens": 2000, "stream": true,
		"thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "Hi"}]}`)
	blocks, _, names := streamedMessage(t, c)
	if len(blocks) != 2 || blocks[0]["type"] != "thinking" || blocks[0]["thinking"] == "" || blocks[0]["signature"] == "" ||
		blocks[1]["type"] != "text" {
		t.Fatalf("%v %v", blocks, names)
	}
	assistant, _ := json.Marshal(blocks)
	c = g.post(t, "/v1/messages", `{"model": "anthropic_only", "max_tokens": 2000,
		"thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "Hi"},
		{"role": "assistant", "content": `+string(assistant)+`}, {"role": "user", "content": "And?"}]}`)
	v := c.decode(t)
	if c.status != http.StatusOK || path(v, "content", 0, "type") != "thinking" || path(v, "content", 0, "signature") == "" {
		t.Fatalf("%d %s", c.status, c.body)
	}
}
