package schemacheck_test

import (
	"errors"
	"testing"

	"github.com/careerpath/llmgateway/schemacheck"
)

// FuzzValidate feeds arbitrary schema and answer texts to the checks a
// request's schema and a provider's answer go through: neither may panic,
// every error is one of the documented ones, and a compiled schema's own
// example is JSON.
func FuzzValidate(f *testing.F) {
	f.Add(read(f, "career_plan.schema.json"), read(f, "career_plan.json"))
	f.Add([]byte(`{"type":"object","required":["a"]}`), []byte(`{"a":1}`))
	f.Add([]byte(`{"$ref":"#/$defs/x","$defs":{"x":{"enum":[1,"a",null]}}}`), []byte(`"a"`))
	f.Add([]byte(`{"type":"string","pattern":"^a+$"}`), []byte(`"aaa"`))
	f.Add([]byte(`{"$ref":"file:///etc/passwd"}`), []byte(`1`))
	f.Fuzz(func(t *testing.T, schema, answer []byte) {
		s, err := schemacheck.Compile(schema)
		if err != nil {
			var ie *schemacheck.InvalidSchemaError
			if !errors.As(err, &ie) {
				t.Fatalf("Compile: %T %v", err, err)
			}
			return
		}
		var me *schemacheck.MismatchError
		if err := s.Validate(answer); err != nil && !errors.Is(err, schemacheck.ErrNotJSON) && !errors.As(err, &me) {
			t.Fatalf("Validate: %T %v", err, err)
		}
		if err := s.Validate(s.Example()); errors.Is(err, schemacheck.ErrNotJSON) {
			t.Fatalf("Example %s is not JSON", s.Example())
		}
	})
}
