package schemacheck_test

import (
	"bytes"
	"testing"
)

func TestExample(t *testing.T) {
	schemas := []string{
		string(read(t, "career_plan.schema.json")),
		`{"type":"string","format":"email"}`,
		`{"type":"string","minLength":12}`,
		`{"type":"string","maxLength":3}`,
		`{"type":"integer","exclusiveMinimum":5,"multipleOf":4}`,
		`{"type":"integer","maximum":-3}`,
		`{"type":"number","exclusiveMinimum":0.5,"exclusiveMaximum":0.75}`,
		`{"type":"number","minimum":-2.5}`,
		`{"type":["null","boolean"]}`,
		`{"const":{"a":[1,2]}}`,
		`{"enum":["x","y"]}`,
		`{"type":"array","minItems":3,"items":{"type":"integer","minimum":7}}`,
		`{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"minItems":2}`,
		`{"allOf":[{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}},{"required":["b"],"properties":{"b":{"type":"boolean"}}}]}`,
		`{"anyOf":[{"type":"integer"},{"type":"string"}]}`,
		`{"$defs":{"node":{"type":"object","required":["children"],"properties":{"children":{"type":"array","minItems":1,"items":{"$ref":"#/$defs/node"}}}}},"$ref":"#/$defs/node"}`,
		`{"type":"object","required":["x"],"additionalProperties":{"type":"integer"}}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"}],"minItems":1}`,
		`{"type":"string","pattern":"^(?:[A-Z]{2,3}|x+)-\\d{4}(\\.[a-f])?$"}`,
		`{"type":"string","pattern":"^[^\\s]+@[a-z]+\\.(com|org)$"}`,
		`true`,
	}
	recursive := 15 // the index of the tree of $refs
	for i, schema := range schemas {
		s := mustCompile(t, schema)
		ex := s.Example()
		if !bytes.Equal(ex, s.Example()) {
			t.Errorf("%s: two examples differ", schema)
		}
		if i == recursive {
			continue // cut at the depth bound, where it cannot satisfy minItems
		}
		if err := s.Validate(ex); err != nil {
			t.Errorf("%s: example %s: %v", schema, ex, err)
		}
	}
}
