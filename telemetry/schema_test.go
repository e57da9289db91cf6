package telemetry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/telemetry"
)

// offSchema answers every request with JSON that misses the required
// property.
type offSchema struct{}

func (offSchema) Name() string { return "primary" }

func (offSchema) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return &providers.Response{Text: `{"other":1}`, FinishReason: providers.FinishStop}, nil
}

func (offSchema) Stream(context.Context, *providers.Request) (providers.Stream, error) {
	return nil, &providers.Error{Kind: providers.KindBadRequest, Message: "not streamed"}
}

// TestSchemaMismatchesCounted runs a failover chain whose provider
// answers off its schema and reads the counter by route and provider.
func TestSchemaMismatchesCounted(t *testing.T) {
	m := telemetry.NewMetrics()
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{
		"primary": {Kind: "openai", Retry: &config.Retry{MaxAttempts: 2, InitialBackoff: config.Duration(time.Millisecond)}},
	}}}
	set, err := resilience.NewSet(cfg, map[string]providers.Provider{"primary": offSchema{}}, m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := set.Chain("plan", resilience.Target{Provider: "primary", Model: "m"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Complete(ctx, &resilience.Request{Provider: &providers.Request{
		Messages:       []providers.Message{{Role: providers.RoleUser, Content: "plan"}},
		ResponseFormat: providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: []byte(`{"type":"object","required":["title"]}`)},
	}})
	if providers.KindOf(err) != providers.KindSchemaMismatch {
		t.Fatalf("error %v, want schema_mismatch", err)
	}
	want := `
# HELP llmgateway_schema_mismatches_total Answers that were not valid JSON or did not match the request's JSON Schema (or a tool call's arguments their tool's), by route and provider.
# TYPE llmgateway_schema_mismatches_total counter
llmgateway_schema_mismatches_total{provider="primary",route="plan"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "llmgateway_schema_mismatches_total"); err != nil {
		t.Fatal(err)
	}
}
