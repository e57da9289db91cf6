package resilience_test

import (
	"context"
	"os"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
)

// benchmarkPlan runs the chain over a provider answering the 2.5 KB
// career plan, with the request asking for its schema or not: the
// difference is the per-answer cost of the check (cached schema lookup
// and validation).
func benchmarkPlan(b *testing.B, withSchema bool) {
	schema, err := os.ReadFile("../schemacheck/testdata/career_plan.schema.json")
	if err != nil {
		b.Fatal(err)
	}
	plan, err := os.ReadFile("../schemacheck/testdata/career_plan.json")
	if err != nil {
		b.Fatal(err)
	}
	p := &scripted{name: "primary", answers: []string{string(plan)}}
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{"primary": {Kind: "openai"}}}}
	set, err := resilience.NewSet(cfg, map[string]providers.Provider{"primary": p}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := set.Chain("plan", resilience.Target{Provider: "primary", Model: "m"}, nil, "",
		resilience.WithSchemaMismatch(config.OnSchemaMismatchFailOver))
	if err != nil {
		b.Fatal(err)
	}
	req := &providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Content: "plan"}}}
	want := resilience.SchemaNotApplicable
	if withSchema {
		req.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: schema}
		want = resilience.SchemaChecked
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ans, err := c.Complete(ctx, &resilience.Request{Provider: req})
		if err != nil || ans.SchemaCheck() != want {
			b.Fatal(ans.SchemaCheck(), err)
		}
	}
}

// BenchmarkChainCompleteText is a chain run without a schema.
func BenchmarkChainCompleteText(b *testing.B) { benchmarkPlan(b, false) }

// BenchmarkChainCompleteSchema is the same run with the answer checked.
func BenchmarkChainCompleteSchema(b *testing.B) { benchmarkPlan(b, true) }
