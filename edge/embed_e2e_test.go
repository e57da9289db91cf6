package edge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/providers/sim"
)

// embedProviders are testProviders with two embedding models on the
// OpenAI simulator, retried once.
const embedProviders = `{
  "providers": {
    "openai":    {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 2, "initial_backoff": "1ms", "max_backoff": "2ms"}, "circuit_breaker": {"min_requests": 1000}},
    "anthropic": {"kind": "anthropic", "base_url": "%ANTHROPIC%", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000,
     "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
    {"name": "text-embedding-3-small", "provider": "openai", "context_window": 8191,
     "price": {"input_per_mtok": 0.02, "output_per_mtok": 0}, "embedding": true},
    {"name": "text-embedding-3-large", "provider": "openai", "context_window": 8191,
     "price": {"input_per_mtok": 0.13, "output_per_mtok": 0}, "embedding": true},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "context_window": 200000,
     "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}}
  ]
}`

const embedRoutes = `{
  "routes": {
    "profiles": {"variants": [{"name": "small", "provider": "openai", "model": "text-embedding-3-small", "weight": 1}]},
    "openai_only": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]},
    "anthropic_only": {"variants": [{"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1}]}
  }
}`

func startEmbedGateway(t *testing.T) *gateway {
	t.Helper()
	return startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: embedProviders,
		config.ABTestConfigFile:     embedRoutes,
		config.ClientsFile:          usageClients(),
	}, edge.Options{})
}

// sameVector fails unless got is the simulator's embedding of text.
func sameVector(t *testing.T, what string, got []float32, model, text string, dims int) {
	t.Helper()
	want := sim.Embedding(model, text, dims)
	if len(got) != len(want) {
		t.Fatalf("%s: %d numbers, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: number %d is %v, the simulator's is %v", what, i, got[i], want[i])
		}
	}
}

// Embed over gRPC: one vector per input, from the route's embedding
// model, its tokens and exact cost recorded in the usage ledger.
func TestEmbedOverGRPC(t *testing.T) {
	g := startEmbedGateway(t)
	app := withKey(ctxT(t), usageAppKey)
	inputs := []string{"Senior data engineer, Berlin", "Pediatric nurse"}
	resp, err := g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "profiles", Inputs: inputs,
		Caller: &gatewayv1.Caller{Subject: "u1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || resp.Provider != "openai" || resp.Model != "text-embedding-3-small" ||
		resp.Route != "profiles" || resp.Variant != "small" || resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY {
		t.Fatalf("answer %v", resp)
	}
	for i, in := range inputs {
		sameVector(t, in, resp.Embeddings[i].Values, "text-embedding-3-small", in, 0)
	}
	tokens := int64((len(inputs[0])+3)/4 + (len(inputs[1])+3)/4)
	// $0.02 per million tokens is 20 nano-dollars a token.
	if int64(resp.Usage.GetInputTokens()) != tokens || resp.Usage.GetOutputTokens() != 0 || resp.CostNanoUsd != 20*tokens {
		t.Errorf("usage %v costing %d nano-dollars; want %d tokens costing %d", resp.Usage, resp.CostNanoUsd, tokens, 20*tokens)
	}

	// A model override, shortened, after one failed attempt that the
	// provider's retry absorbed.
	if err := g.openai.SetFault(sim.Fault{Status: 500, Path: sim.PathEmbeddings, Count: 1}); err != nil {
		t.Fatal(err)
	}
	large, err := g.client.Embed(app, &gatewayv1.EmbedRequest{Inputs: []string{"x"}, Dimensions: new(int32(3)),
		Model: &gatewayv1.ModelOverride{Provider: "openai", Model: "text-embedding-3-large"}})
	if err != nil {
		t.Fatal(err)
	}
	sameVector(t, "shortened", large.Embeddings[0].Values, "text-embedding-3-large", "x", 3)
	if len(large.FailedAttempts) != 1 || large.FailedAttempts[0].ErrorKind != "server_error" || large.CostNanoUsd != 130 {
		t.Errorf("override: failed attempts %v, cost %d nano-dollars (want one server_error, 130)", large.FailedAttempts, large.CostNanoUsd)
	}

	u, err := g.client.Usage(app, &gatewayv1.UsageRequest{GroupBy: []gatewayv1.UsageDimension{gatewayv1.UsageDimension_USAGE_DIMENSION_MODEL}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*gatewayv1.UsageRow{}
	for _, r := range u.Rows {
		got[r.Model] = r
	}
	if r := got["text-embedding-3-small"]; r == nil || r.Requests != 1 || r.InputTokens != tokens || r.CostNanoUsd != 20*tokens {
		t.Errorf("ledger row of text-embedding-3-small: %v", r)
	}
	if r := got["text-embedding-3-large"]; r == nil || r.Requests != 1 || r.InputTokens != 1 || r.CostNanoUsd != 130 {
		t.Errorf("ledger row of text-embedding-3-large: %v", r)
	}

	// The metrics count Embed calls as the embeddings operation.
	m := scrape(t, g)
	for _, want := range []string{
		`llmgateway_requests_total{provider="openai",route="profiles",rpc="Embed",status="OK",variant="small"} 1`,
		`gen_ai_client_token_usage_count{gen_ai_operation_name="embeddings",gen_ai_provider_name="openai",gen_ai_request_model="text-embedding-3-small",gen_ai_token_type="input"} 1`,
		`gen_ai_server_request_duration_seconds_count{error_type="",gen_ai_operation_name="embeddings",route="profiles"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A route or model that cannot embed is refused by name, and a completion
// on an embedding route likewise, before anything is sent.
func TestEmbedRefusals(t *testing.T) {
	g := startEmbedGateway(t)
	app := withKey(ctxT(t), usageAppKey)
	refused := func(what string, err error, reason, mention string) {
		t.Helper()
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), mention) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT naming %q", what, err, mention)
			return
		}
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason != reason {
				t.Errorf("%s: reason %s, want %s", what, info.Reason, reason)
			}
		}
	}
	_, err := g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "anthropic_only", Inputs: []string{"x"}})
	refused("Anthropic route", err, gwerr.ReasonNotEmbeddingModel, `route "anthropic_only"`)
	_, err = g.client.Embed(app, &gatewayv1.EmbedRequest{Inputs: []string{"x"},
		Model: &gatewayv1.ModelOverride{Provider: "anthropic", Model: "claude-3-5-haiku-latest"}})
	refused("Anthropic model", err, gwerr.ReasonNotEmbeddingModel, "has no embeddings API")
	_, err = g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "openai_only", Inputs: []string{"x"}})
	refused("chat route", err, gwerr.ReasonNotEmbeddingModel, "gpt-4o-mini")
	_, err = g.client.Complete(app, request("profiles", "u1"))
	refused("completion on an embedding route", err, gwerr.ReasonEmbeddingModel, "text-embedding-3-small")
	_, err = g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "profiles"})
	refused("no inputs", err, gwerr.ReasonInvalidRequest, "inputs")
	// Route permissions and model overrides are the client's, as for a
	// completion.
	other := withKey(ctxT(t), usageOtherKey)
	if _, err := g.client.Embed(other, &gatewayv1.EmbedRequest{Route: "profiles", Inputs: []string{"x"}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a route the client may not use: %v", err)
	}
	if _, err := g.client.Embed(other, &gatewayv1.EmbedRequest{Inputs: []string{"x"},
		Model: &gatewayv1.ModelOverride{Provider: "openai", Model: "text-embedding-3-small"}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a model override without allow_model_override: %v", err)
	}
	if n := g.anthropic.Stats().Requests[sim.PathMessages] + g.openai.Stats().Requests[sim.PathEmbeddings]; n != 0 {
		t.Errorf("%d requests reached a provider", n)
	}
}

// POST /v1/embed is the REST binding of Embed.
func TestEmbedOverREST(t *testing.T) {
	g := startEmbedGateway(t)
	req, err := http.NewRequest(http.MethodPost, "http://"+g.httpAddr+"/v1/embed",
		strings.NewReader(`{"route":"profiles","inputs":["Hello"],"dimensions":16}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+usageAppKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Embeddings []struct {
			Values []float32 `json:"values"`
		} `json:"embeddings"`
		Model       string `json:"model"`
		CostNanoUsd string `json:"cost_nano_usd"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Embeddings) != 1 || out.Model != "text-embedding-3-small" || out.CostNanoUsd != "40" {
		t.Fatalf("answer %s", b)
	}
	sameVector(t, "REST", out.Embeddings[0].Values, "text-embedding-3-small", "Hello", 16)
}

// An embedding route fails over to its backup, a provider of its own
// (here the second simulator, spoken to in OpenAI's wire format), when
// the primary keeps failing; the tokens quota counts embeddings.
func TestEmbedFailoverAndQuota(t *testing.T) {
	providers := strings.Replace(embedProviders, `"providers": {`, `"providers": {
    "backup": {"kind": "openai", "base_url": "%ANTHROPIC%/v1", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "5s",
               "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}},`, 1)
	providers = strings.Replace(providers, `"models": [`, `"models": [
    {"name": "text-embedding-3-small", "provider": "backup", "context_window": 8191,
     "price": {"input_per_mtok": 0.02, "output_per_mtok": 0}, "embedding": true},`, 1)
	routes := strings.Replace(embedRoutes, `"routes": {`, `"routes": {
    "resilient": {"variants": [{"name": "small", "provider": "openai", "model": "text-embedding-3-small", "weight": 1}],
                  "backups": [{"provider": "backup", "model": "text-embedding-3-small"}]},`, 1)
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: providers,
		config.ABTestConfigFile:     routes,
		config.ClientsFile:          usageClients(),
		config.RateLimitsFile:       `{"limits": [{"name": "embed_tokens", "scope": ["route"], "routes": ["profiles"], "tokens_per_minute": 10}]}`,
	}, edge.Options{})
	app := withKey(ctxT(t), usageAppKey)

	if err := g.openai.SetFault(sim.Fault{Status: 503, Path: sim.PathEmbeddings}); err != nil {
		t.Fatal(err)
	}
	resp, err := g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "resilient", Inputs: []string{"Welder"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Provider != "backup" || resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP || len(resp.FailedAttempts) != 2 {
		t.Errorf("answered by %s at %v after %v; want the backup after the primary's two attempts", resp.Provider, resp.Step, resp.FailedAttempts)
	}
	sameVector(t, "backup", resp.Embeddings[0].Values, "text-embedding-3-small", "Welder", 0)
	if err := g.openai.SetFaults(); err != nil {
		t.Fatal(err)
	}

	// 10 tokens a minute: 32 bytes are 8 tokens, admitted; the next 8 are not.
	in := []string{strings.Repeat("a", 32)}
	if _, err := g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "profiles", Inputs: in}); err != nil {
		t.Fatal(err)
	}
	_, err = g.client.Embed(app, &gatewayv1.EmbedRequest{Route: "profiles", Inputs: in})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("over the tokens quota: %v", err)
	}
}
