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
		{"both spellings", `"output_config": {"format": {"type": "json_schema", "schema": {}}},
			"output_format": {"type": "json_schema", "schema": {}}`, "output_format"},
	} {
		c := g.post(t, "/v1/messages", `{"model": "anthropic_only", "max_tokens": 20, `+tc.body+`,
			"messages": [{"role": "user", "content": "Hi"}]}`)
		v := c.decode(t)
		msg, _ := path(v, "error", "message").(string)
		if c.status != http.StatusBadRequest || path(v, "error", "type") != "invalid_request_error" || !strings.Contains(msg, tc.field) {
			t.Errorf("%s: %d %s", tc.name, c.status, c.body)
		}
	}
}
