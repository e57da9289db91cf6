package resilience_test

import (
	"encoding/json"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sim"
)

// A streamed answer that begins with a tool call, before any text, keeps
// that chunk: the first-token read-ahead counts it as the first token.
func TestStreamBeginningWithToolCall(t *testing.T) {
	f := newFixture(t, config.Provider{Retry: &config.Retry{MaxAttempts: 1}})
	if err := f.primary.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	r := req()
	r.Provider.Tools = []providers.Tool{{Name: "now", Parameters: json.RawMessage(`{"type":"object"}`)}}
	r.Provider.ToolChoice = providers.ToolChoice{Mode: providers.ToolChoiceRequired}
	ans, err := f.chain(t, "").Stream(ctx(t), r)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ans.Stream.Close() }()
	c, err := ans.Stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if c.ToolCall == nil || c.ToolCall.Name != "now" || c.ToolCall.ID == "" {
		t.Fatalf("first chunk %+v, want the tool call's start", c)
	}
}
