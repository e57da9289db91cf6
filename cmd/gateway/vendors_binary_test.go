package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// vendor is one of the four real provider kinds the gateway speaks, as
// configured against the simulator.
type vendor struct{ provider, model string }

var fourVendors = []vendor{
	{"oai", "gpt-4o-mini"},
	{"ant", "claude-haiku-4-5"},
	{"gem", "gemini-2.5-flash"},
	{"bed", bedrockTestModel},
}

// fourVendorConfig writes a configuration with an openai, an anthropic, a
// gemini and a bedrock provider, all pointed at the simulator at url: a
// route "ab" splitting its traffic evenly over the four, and a route "fo"
// whose primary is OpenAI with the other three as backups in order.
func fourVendorConfig(t *testing.T, url string) string {
	t.Helper()
	const common = `"timeout": "30s", "retry": {"max_attempts": 1}`
	price := `"price": {"input_per_mtok": 1, "output_per_mtok": 2}`
	files := map[string]string{
		"provider_settings.json": `{"providers": {
			"oai": {"kind": "openai", "base_url": "` + url + `/v1", "api_key_env": "FOUR_OPENAI_KEY", ` + common + `},
			"ant": {"kind": "anthropic", "base_url": "` + url + `", "api_key_env": "FOUR_ANTHROPIC_KEY", ` + common + `},
			"gem": {"kind": "gemini", "base_url": "` + url + `/v1beta", "api_key_env": "FOUR_GEMINI_KEY", ` + common + `},
			"bed": {"kind": "bedrock", "base_url": "` + url + `", "options": {"region": "us-east-1"}, ` + common + `}},
			"models": [
				{"name": "gpt-4o-mini", "provider": "oai", ` + price + `},
				{"name": "claude-haiku-4-5", "provider": "ant", ` + price + `},
				{"name": "gemini-2.5-flash", "provider": "gem", ` + price + `},
				{"name": "` + bedrockTestModel + `", "provider": "bed", ` + price + `}]}`,
		"ab_test_config.json": `{"routes": {
			"ab": {"variants": [
				{"name": "openai", "provider": "oai", "model": "gpt-4o-mini", "weight": 1},
				{"name": "anthropic", "provider": "ant", "model": "claude-haiku-4-5", "weight": 1},
				{"name": "gemini", "provider": "gem", "model": "gemini-2.5-flash", "weight": 1},
				{"name": "bedrock", "provider": "bed", "model": "` + bedrockTestModel + `", "weight": 1}]},
			"fo": {"variants": [{"name": "v", "provider": "oai", "model": "gpt-4o-mini", "weight": 1}],
				"backups": [
					{"provider": "ant", "model": "claude-haiku-4-5"},
					{"provider": "gem", "model": "gemini-2.5-flash"},
					{"provider": "bed", "model": "` + bedrockTestModel + `"}]}}}`,
	}
	return writeConfig(t, files)
}

// startFourVendors starts a simulator and the gateway on fourVendorConfig
// with each provider's credentials, and connects a client whose calls
// have a minute.
func startFourVendors(t *testing.T, args ...string) (*sim.Server, gatewayv1.LLMGatewayClient, context.Context) {
	t.Helper()
	srv, url := startSim(t, sim.Config{})
	env := append([]string{"FOUR_OPENAI_KEY=sk-four", "FOUR_ANTHROPIC_KEY=sk-ant-four", "FOUR_GEMINI_KEY=AIzaFour"},
		awsEnv(t, "AKIDFOURVENDORS", "four-vendors-secret")...)
	client, ctx := startBinary(t, fourVendorConfig(t, url), env, args...).connect(t, 60*time.Second)
	return srv, client, ctx
}

// TestBinaryFourVendors sends the same tool round trip and the same
// schema-checked JSON request through OpenAI, Anthropic, Gemini and Bedrock
// backends (each speaking its own wire to the simulator) and expects
// equivalent neutral answers; an A/B route over the four serves its split,
// and a failover route moves across vendors as each one fails.
func TestBinaryFourVendors(t *testing.T) {
	srv, client, ctx := startFourVendors(t)

	params := `{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string","enum":["Berlin","Paris"]}},"required":["title","city"]}`
	ps := compileSchema(t, params)
	tools := []*gatewayv1.Tool{tool("lookup_role", "Looks a role up.", params)}
	schema := `{"type":"object","properties":{"role":{"type":"string"},"years":{"type":"integer","minimum":2},"skills":{"type":"array","items":{"type":"string"},"minItems":1}},"required":["role","years","skills"]}`
	js := compileSchema(t, schema)

	var firstArgs, firstJSON any
	for _, v := range fourVendors {
		t.Run("tools/"+v.provider, func(t *testing.T) {
			model := &gatewayv1.ModelOverride{Provider: v.provider, Model: v.model}
			msgs := []*gatewayv1.Message{user("What does a data engineer in Berlin need?")}
			resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{Model: model, Messages: msgs, Tools: tools})
			if err != nil {
				t.Fatal(err)
			}
			call := firstToolCall(resp.Parts)
			if resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS || call == nil ||
				call.Name != "lookup_role" || call.Id == "" || resp.Provider != v.provider {
				t.Fatalf("want a call of lookup_role from %s: %v", v.provider, resp)
			}
			if err := ps.Validate([]byte(call.Arguments)); err != nil {
				t.Fatalf("arguments %s: %v", call.Arguments, err)
			}
			var args any
			if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil {
				t.Fatal(err)
			}
			if firstArgs == nil {
				firstArgs = args
			} else if !reflect.DeepEqual(args, firstArgs) {
				t.Errorf("arguments %v, the first vendor's %v", args, firstArgs)
			}
			msgs = append(msgs,
				assistant(resp.Parts),
				toolResult(call.Id, "SQL, Python, orchestration"))
			for _, part := range resp.Parts {
				// Parallel calls are answered too, so that every call has
				// its result.
				if c := part.GetToolCall(); c != nil && c != call {
					msgs = append(msgs, toolResult(c.Id, "nothing more"))
				}
			}
			resp, err = client.Complete(ctx, &gatewayv1.CompleteRequest{Model: model, Messages: msgs, Tools: tools})
			if err != nil {
				t.Fatal(err)
			}
			if resp.FinishReason != gatewayv1.FinishReason_FINISH_REASON_STOP || resp.Text == "" {
				t.Errorf("after the tool result: %v", resp)
			}
		})
		t.Run("json/"+v.provider, func(t *testing.T) {
			resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{
				Model:          &gatewayv1.ModelOverride{Provider: v.provider, Model: v.model},
				Messages:       []*gatewayv1.Message{user("A career plan as JSON.")},
				ResponseFormat: jsonFormat("plan", schema)})
			if err != nil {
				t.Fatal(err)
			}
			if err := js.Validate([]byte(resp.Text)); err != nil || resp.SchemaCheck != gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED {
				t.Fatalf("JSON answer %q (schema check %v): %v", resp.Text, resp.SchemaCheck, err)
			}
			var got any
			if err := json.Unmarshal([]byte(resp.Text), &got); err != nil {
				t.Fatal(err)
			}
			if firstJSON == nil {
				firstJSON = got
			} else if !reflect.DeepEqual(got, firstJSON) {
				t.Errorf("JSON answer %v, the first vendor's %v", got, firstJSON)
			}
		})
	}

	t.Run("split", func(t *testing.T) {
		seen := map[string]int{}
		for i := range 200 {
			resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "ab", Messages: []*gatewayv1.Message{user("hello")},
				Caller: &gatewayv1.Caller{Subject: fmt.Sprintf("user-%d", i)}})
			if err != nil {
				t.Fatal(err)
			}
			seen[resp.Provider]++
			if resp.Variant == "" || resp.Text == "" {
				t.Fatalf("answer %v", resp)
			}
		}
		// Each variant's share is 1/4: 50 expected of 200, and fewer than
		// 20 is more than four standard deviations away.
		for _, v := range fourVendors {
			if seen[v.provider] < 20 {
				t.Errorf("%s answered %d of 200 (%v)", v.provider, seen[v.provider], seen)
			}
		}
		// Sticky: one subject keeps its variant.
		var first string
		for range 5 {
			resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "ab", Messages: []*gatewayv1.Message{user("hello")},
				Caller: &gatewayv1.Caller{Subject: "the-same-user"}})
			if err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = resp.Variant
			} else if resp.Variant != first {
				t.Errorf("variant %s, then %s", first, resp.Variant)
			}
		}
	})

	t.Run("failover", func(t *testing.T) {
		steps := []struct {
			faults []sim.Fault
			want   string
		}{
			{nil, "oai"},
			{[]sim.Fault{{Status: 500, Path: sim.PathChatCompletions}}, "ant"},
			{[]sim.Fault{{Status: 500, Path: sim.PathChatCompletions}, {Status: 500, Path: sim.PathMessages}}, "gem"},
			{[]sim.Fault{{Status: 500, Path: sim.PathChatCompletions}, {Status: 500, Path: sim.PathMessages},
				{Status: 503, Path: sim.PathGemini}}, "bed"},
		}
		for _, s := range steps {
			if err := srv.SetFaults(s.faults...); err != nil {
				t.Fatal(err)
			}
			resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "fo", Messages: []*gatewayv1.Message{user("hello")}})
			if err != nil {
				t.Fatalf("with %d failing vendors: %v", len(s.faults), err)
			}
			wantStep := gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP
			if s.want == "oai" {
				wantStep = gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY
			}
			if resp.Provider != s.want || resp.Step != wantStep || len(resp.FailedAttempts) != len(s.faults) || resp.Text == "" {
				t.Errorf("with %d failing vendors: provider %s step %v, %d failed attempts, want %s",
					len(s.faults), resp.Provider, resp.Step, len(resp.FailedAttempts), s.want)
			}
		}
		if err := srv.SetFaults(); err != nil {
			t.Fatal(err)
		}
	})
}
