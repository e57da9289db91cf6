package schemacheck_test

import (
	"testing"

	"github.com/careerpath/llmgateway/schemacheck"
)

// BenchmarkCompile is a cold compile of the career-plan schema (about 30
// properties), as for a schema the cache has not seen.
func BenchmarkCompile(b *testing.B) {
	schema := read(b, "career_plan.schema.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schemacheck.Compile(schema); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheCompile is the same schema found in the cache.
func BenchmarkCacheCompile(b *testing.B) {
	schema := read(b, "career_plan.schema.json")
	c := schemacheck.NewCache(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(schema); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate checks a 2.5 KB career-plan answer.
func BenchmarkValidate(b *testing.B) {
	s, err := schemacheck.Compile(read(b, "career_plan.schema.json"))
	if err != nil {
		b.Fatal(err)
	}
	plan := read(b, "career_plan.json")
	b.SetBytes(int64(len(plan)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(plan); err != nil {
			b.Fatal(err)
		}
	}
}
