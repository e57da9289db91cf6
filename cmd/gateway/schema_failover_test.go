package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestBinarySchemaMismatchPolicies runs each on_schema_mismatch policy
// through the gateway binary: the primary simulator answers JSON that
// does not match the schema, the backup simulator answers JSON that does.
func TestBinarySchemaMismatchPolicies(t *testing.T) {
	_, badURL := startSim(t, sim.Config{RequireAPIKey: "k", SchemaMismatch: true})
	_, goodURL := startSim(t, sim.Config{RequireAPIKey: "k"})
	route := func(policy string) string {
		return `{"variants": [{"name": "v", "provider": "bad", "model": "gpt-4o-mini", "weight": 1}],
			"backups": [{"provider": "good", "model": "gpt-4o"}], "on_schema_mismatch": "` + policy + `"}`
	}
	files := map[string]string{
		"provider_settings.json": `{"providers": {
			"bad": {"kind": "openai", "base_url": "` + badURL + `/v1", "api_key_env": "BIN_TEST_KEY", "timeout": "30s", "retry": {"max_attempts": 2}},
			"good": {"kind": "openai", "base_url": "` + goodURL + `/v1", "api_key_env": "BIN_TEST_KEY", "timeout": "30s", "retry": {"max_attempts": 1}}},
			"models": [{"name": "gpt-4o-mini", "provider": "bad", "price": {"input_per_mtok": 1, "output_per_mtok": 1}},
				{"name": "gpt-4o", "provider": "good", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`,
		"ab_test_config.json": `{"routes": {"fail_over": ` + route("fail_over") + `, "retry": ` + route("retry") + `, "pass": ` + route("pass") + `}}`,
	}
	p := startBinary(t, writeConfig(t, files), []string{"BIN_TEST_KEY=k"}, "-log-level", "error")
	client, ctx := p.connect(t, 60*time.Second)
	schema := compileSchema(t, openaiPlanSchema)

	// planRequest asks the route for a plan that follows the schema.
	planRequest := func(route string) *gatewayv1.CompleteRequest {
		return &gatewayv1.CompleteRequest{Route: route,
			Messages:       []*gatewayv1.Message{user("Plan my move into data engineering.")},
			ResponseFormat: jsonFormat("plan", openaiPlanSchema)}
	}
	type result struct {
		text     string
		provider string
		check    gatewayv1.SchemaCheck
		attempts []*gatewayv1.FailedAttempt
	}
	ask := func(t *testing.T, routeName string, stream bool) result {
		t.Helper()
		req := planRequest(routeName)
		if !stream {
			resp, err := client.Complete(ctx, req)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			return result{resp.GetText(), resp.GetProvider(), resp.GetSchemaCheck(), resp.GetFailedAttempts()}
		}
		s, err := client.Stream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		text, last := readStream(t, s)
		if !last.GetDone() {
			t.Fatalf("the stream ended without its final message, after %v", last)
		}
		return result{text, last.GetProvider(), last.GetSchemaCheck(), last.GetFailedAttempts()}
	}
	mismatches := func(as []*gatewayv1.FailedAttempt) int {
		n := 0
		for _, a := range as {
			if a.GetProvider() == "bad" && a.GetErrorKind() == "schema_mismatch" {
				n++
			}
		}
		return n
	}

	// A stream's tokens reach the caller before its end says whether the
	// JSON matched: a mismatch found then ends the stream with a
	// schema_mismatch error (no failover after the first token), unless
	// the route passes it.
	for _, policy := range []string{"fail_over", "retry"} {
		t.Run("Stream/"+policy, func(t *testing.T) {
			s, err := client.Stream(ctx, planRequest(policy))
			if err != nil {
				t.Fatal(err)
			}
			var text string
			for {
				m, err := s.Recv()
				if err == nil {
					if m.GetDone() {
						t.Fatalf("the stream completed: %v", m)
					}
					text += m.GetDelta()
					continue
				}
				if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "schema_mismatch") {
					t.Fatalf("stream ended with %v, want a schema_mismatch error", err)
				}
				break
			}
			if text == "" || schema.Validate([]byte(text)) == nil {
				t.Errorf("streamed %q before the error, want the primary's mismatching answer", text)
			}
		})
	}

	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "Unary", true: "Stream"}[stream]
		if !stream {
			t.Run(name+"/FailOver", func(t *testing.T) {
				r := ask(t, "fail_over", stream)
				if r.provider != "good" || r.check != gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED || mismatches(r.attempts) != 1 || len(r.attempts) != 1 {
					t.Fatalf("answer %+v", r)
				}
				if err := schema.Validate([]byte(r.text)); err != nil {
					t.Errorf("backup's answer %s: %v", r.text, err)
				}
			})
			t.Run(name+"/Retry", func(t *testing.T) {
				r := ask(t, "retry", stream)
				if r.provider != "good" || r.check != gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED || mismatches(r.attempts) != 2 {
					t.Fatalf("answer %+v (want the primary tried twice, then the backup)", r)
				}
				if err := schema.Validate([]byte(r.text)); err != nil {
					t.Errorf("backup's answer %s: %v", r.text, err)
				}
			})
		}
		t.Run(name+"/Pass", func(t *testing.T) {
			r := ask(t, "pass", stream)
			if r.provider != "bad" || r.check != gatewayv1.SchemaCheck_SCHEMA_CHECK_UNCHECKED || len(r.attempts) != 0 {
				t.Fatalf("answer %+v", r)
			}
			if err := schema.Validate([]byte(r.text)); err == nil {
				t.Errorf("the primary's answer %s matches the schema: the test proves nothing", r.text)
			}
		})
	}
}
