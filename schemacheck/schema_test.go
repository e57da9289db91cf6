package schemacheck_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/schemacheck"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustCompile(t testing.TB, schema string) *schemacheck.Schema {
	t.Helper()
	s, err := schemacheck.Compile([]byte(schema))
	if err != nil {
		t.Fatalf("Compile(%s): %v", schema, err)
	}
	return s
}

func TestCareerPlan(t *testing.T) {
	s, err := schemacheck.Compile(read(t, "career_plan.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	plan := read(t, "career_plan.json")
	if err := s.Validate(plan); err != nil {
		t.Fatalf("valid plan: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(plan, &doc); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) []byte {
		var d map[string]any
		_ = json.Unmarshal(plan, &d)
		f(d)
		b, _ := json.Marshal(d)
		return b
	}
	tests := []struct {
		name     string
		answer   []byte
		path     string
		contains string
	}{
		{"missing required", edit(func(d map[string]any) { delete(d, "summary") }), "", "summary"},
		{"wrong type deep", edit(func(d map[string]any) {
			d["milestones"].([]any)[1].(map[string]any)["effort_hours"] = "lots"
		}), "/milestones/1/effort_hours", "integer"},
		{"enum through $ref", edit(func(d map[string]any) {
			d["target_role"].(map[string]any)["seniority"] = "wizard"
		}), "/target_role/seniority", "one of"},
		{"pattern", edit(func(d map[string]any) {
			d["current_role"].(map[string]any)["occupation_code"] = "151252"
		}), "/current_role/occupation_code", "match"},
		{"additional property", edit(func(d map[string]any) { d["extra"] = 1 }), "", "extra"},
		{"minItems", edit(func(d map[string]any) { d["milestones"] = []any{} }), "/milestones", "minItems"},
		{"number bound", edit(func(d map[string]any) { d["confidence"] = 1.5 }), "/confidence", "maximum"},
		{"format", edit(func(d map[string]any) {
			d["milestones"].([]any)[0].(map[string]any)["due"] = "2027-02-30"
		}), "/milestones/0/due", "date"},
		{"key with slash", edit(func(d map[string]any) {
			d["candidate"].(map[string]any)["a/b~c"] = 1
		}), "/candidate", "a/b~c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(tt.answer)
			var me *schemacheck.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("Validate = %v, want a *MismatchError", err)
			}
			if me.Path != tt.path || !strings.Contains(me.Error(), tt.contains) {
				t.Errorf("Validate = path %q, %q; want path %q containing %q", me.Path, me.Error(), tt.path, tt.contains)
			}
		})
	}
}

func TestNotJSON(t *testing.T) {
	s := mustCompile(t, `{"type":"object"}`)
	for _, answer := range []string{"", "Sure! Here is the plan: {", `{"a":1} trailing`, "```json\n{}\n```", `{"a":1}{"b":2}`} {
		if err := s.Validate([]byte(answer)); !errors.Is(err, schemacheck.ErrNotJSON) {
			t.Errorf("Validate(%q) = %v, want ErrNotJSON", answer, err)
		}
	}
	if err := s.Validate([]byte(" {\"a\": 1}\n")); err != nil {
		t.Errorf("whitespace around a value: %v", err)
	}
}

// An integer-typed property accepts 1 and 1.0 (the same number in JSON
// Schema) but not 1.5, and big integers are exact.
func TestNumbers(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740993}}}`)
	for answer, ok := range map[string]bool{
		`{"n":1}`: true, `{"n":1.0}`: true, `{"n":1.5}`: false,
		`{"n":9007199254740993}`: true, `{"n":9007199254740994}`: false,
	} {
		if err := s.Validate([]byte(answer)); (err == nil) != ok {
			t.Errorf("Validate(%s) = %v, want ok=%v", answer, err, ok)
		}
	}
}

func TestInvalidSchema(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"type":"string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, schema := range []string{
		``, `not json`, `[]`, `"object"`, `{"type":"objekt"}`, `{"minLength":-1}`,
		`{"properties":{"a":{"$ref":"#/$defs/missing"}}}`,
		`{"$ref":"file://` + secret + `"}`,
		`{"$ref":"https://example.com/schema.json"}`,
		`{"type":"string","pattern":"("}`,
	} {
		_, err := schemacheck.Compile([]byte(schema))
		var ie *schemacheck.InvalidSchemaError
		if !errors.As(err, &ie) {
			t.Errorf("Compile(%q) = %v, want an *InvalidSchemaError", schema, err)
			continue
		}
		if strings.Contains(err.Error(), "urn:llmgateway") {
			t.Errorf("Compile(%q): %v names the internal URL", schema, err)
		}
	}
	for _, schema := range []string{`true`, `{}`, `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}`,
		`{"$defs":{"a":{"type":"string"}},"$ref":"#/$defs/a"}`} {
		if _, err := schemacheck.Compile([]byte(schema)); err != nil {
			t.Errorf("Compile(%s): %v", schema, err)
		}
	}
}

func TestCache(t *testing.T) {
	c := schemacheck.NewCache(2)
	a, err := c.Compile([]byte(`{"type":"string"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Compile([]byte(`{"type":"string"}`))
	if a != b {
		t.Error("the same schema compiled twice")
	}
	if _, err := c.Compile([]byte(`{"type":"strin"}`)); err == nil {
		t.Error("an invalid schema compiled")
	}
	for i := range 100 { // bounded: no growth past the limit is observable, but nothing breaks
		if _, err := c.Compile([]byte(`{"maxLength":` + strings.Repeat("1", 1+i%9) + `}`)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValidateToolCall(t *testing.T) {
	c := schemacheck.NewCache(0)
	tools := []providers.Tool{
		{Name: "search_jobs", Parameters: json.RawMessage(`{"type":"object","required":["query"],"properties":{"query":{"type":"string"},"limit":{"type":"integer"}}}`)},
		{Name: "now"},
	}
	tests := []struct {
		call providers.ToolCall
		path string // "" for nil, "-" for ErrNotJSON
	}{
		{providers.ToolCall{Name: "search_jobs", Arguments: `{"query":"ml engineer","limit":5}`}, ""},
		{providers.ToolCall{Name: "search_jobs", Arguments: `{"limit":5}`}, "/arguments"},
		{providers.ToolCall{Name: "search_jobs", Arguments: `{"query":"x","limit":"5"}`}, "/arguments/limit"},
		{providers.ToolCall{Name: "search_jobs", Arguments: `{"query":`}, "-"},
		{providers.ToolCall{Name: "now"}, ""},
		{providers.ToolCall{Name: "now", Arguments: "{}"}, ""},
		{providers.ToolCall{Name: "delete_everything", Arguments: "{}"}, "/name"},
	}
	for _, tt := range tests {
		err := c.ValidateToolCall(tools, tt.call)
		var me *schemacheck.MismatchError
		switch {
		case tt.path == "" && err != nil, tt.path == "-" && !errors.Is(err, schemacheck.ErrNotJSON):
			t.Errorf("%+v: %v", tt.call, err)
		case tt.path != "" && tt.path != "-" && (!errors.As(err, &me) || me.Path != tt.path):
			t.Errorf("%+v: %v, want a mismatch at %s", tt.call, err, tt.path)
		}
	}
}

func TestMismatch(t *testing.T) {
	s := mustCompile(t, `{"type":"object","required":["a"]}`)
	err := schemacheck.Mismatch("openai", s.Validate([]byte(`{}`)))
	pe, ok := providers.AsError(err)
	if !ok || pe.Kind != providers.KindSchemaMismatch || pe.Provider != "openai" || !pe.Retryable() {
		t.Fatalf("Mismatch = %#v", err)
	}
	var me *schemacheck.MismatchError
	if !errors.As(err, &me) {
		t.Error("the mismatch is not in the chain")
	}
	if err := schemacheck.Mismatch("openai", s.Validate([]byte(`nope`))); providers.KindOf(err) != providers.KindSchemaMismatch {
		t.Errorf("not JSON: %v", err)
	}
	other := errors.New("other")
	if err := schemacheck.Mismatch("openai", other); err != other { //nolint:errorlint // the very same error, not one wrapping it
		t.Error("another error was wrapped")
	}
}
