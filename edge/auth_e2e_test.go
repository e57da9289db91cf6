package edge_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

const (
	railsKey = "llmgw_rails-test-key-0123456789"
	qaKey    = "llmgw_qa-test-key-0123456789abc"
)

// authRoutes has a two-variant experiment and a templated route.
const authRoutes = `{
  "routes": {
    "career_advice": {"variants": [
      {"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1},
      {"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1}]},
    "resume_review": {"variants": [
      {"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1,
       "user_template": "Review this resume for a {{.Vars.role}} role."}]}
  }
}`

func authClients() string {
	return `{"clients": [
  {"name": "rails-app", "key_sha256": "` + config.HashKey(railsKey) + `", "routes": ["career_advice"]},
  {"name": "qa", "key_sha256": "` + config.HashKey(qaKey) + `", "routes": ["*"], "allow_forced_variant": true}
]}`
}

func startAuthGateway(t *testing.T) *gateway {
	return startGatewayFiles(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     authRoutes,
		config.ClientsFile:          authClients(),
	})
}

func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func TestAuthOverGRPC(t *testing.T) {
	g := startAuthGateway(t)
	_, err := g.client.Complete(ctxT(t), request("career_advice", "u"))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no key: %v", err)
	}
	_, err = g.client.Complete(withKey(ctxT(t), "llmgw_wrong"), request("career_advice", "u"))
	if status.Code(err) != codes.Unauthenticated || strings.Contains(err.Error(), "llmgw_wrong") {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := g.client.Complete(withKey(ctxT(t), railsKey), request("career_advice", "u")); err != nil {
		t.Fatalf("good key: %v", err)
	}
	r := request("resume_review", "u")
	r.Variables = map[string]string{"role": "data engineer"}
	_, err = g.client.Complete(withKey(ctxT(t), railsKey), r)
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "resume_review") {
		t.Fatalf("route not allowed: %v", err)
	}
	// Streams are checked before anything is sent.
	st, err := g.client.Stream(withKey(ctxT(t), railsKey), r)
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("stream on a route not allowed: %v", err)
	}
}

func TestAuthOverREST(t *testing.T) {
	g := startAuthGateway(t)
	body := `{"route":"career_advice","messages":[{"role":"ROLE_USER","content":"Hi"}]}`
	post := func(header, value string) (int, string) {
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://"+g.httpAddr+"/v1/complete", strings.NewReader(body))
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := post("", ""); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d %s", code, b)
	}
	if code, b := post("Authorization", "Bearer "+railsKey); code != http.StatusOK {
		t.Fatalf("Bearer: %d %s", code, b)
	}
	if code, b := post("X-Api-Key", railsKey); code != http.StatusOK {
		t.Fatalf("x-api-key: %d %s", code, b)
	}
}

func TestForcedVariantNeedsPermission(t *testing.T) {
	g := startAuthGateway(t)
	r := request("career_advice", "u")
	r.ForceVariant = "claude"
	_, err := g.client.Complete(withKey(ctxT(t), railsKey), r)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("rails forcing a variant: %v", err)
	}
	for _, v := range []string{"claude", "gpt"} {
		r.ForceVariant = v
		resp, err := g.client.Complete(withKey(ctxT(t), qaKey), r)
		if err != nil || resp.Variant != v {
			t.Fatalf("qa forcing %s: %v %v", v, resp, err)
		}
	}
	r.ForceVariant = "nope"
	_, err = g.client.Complete(withKey(ctxT(t), qaKey), r)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown variant: %v", err)
	}
}

func TestTemplateVariables(t *testing.T) {
	g := startAuthGateway(t)
	r := request("resume_review", "u")
	_, err := g.client.Complete(withKey(ctxT(t), qaKey), r)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `"role"`) {
		t.Fatalf("missing variable: %v", err)
	}
	r.Variables = map[string]string{"role": "{{.Secret}} data engineer"}
	resp, err := g.client.Complete(withKey(ctxT(t), qaKey), r)
	if err != nil || resp.Text == "" {
		t.Fatalf("with the variable: %v %v", resp, err)
	}
}

func TestFeedbackFlowsIntoTheExperimentReport(t *testing.T) {
	g := startAuthGateway(t)
	ctx := withKey(ctxT(t), qaKey)
	variants := map[string]int{}
	for i := range 6 {
		resp, err := g.client.Complete(ctx, request("career_advice", "subject-"+string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		variants[resp.Variant]++
		fb, err := g.client.Feedback(ctx, &gatewayv1.FeedbackRequest{
			ResponseId: resp.Id, Outcome: &gatewayv1.FeedbackRequest_Success{Success: i%2 == 0}})
		if err != nil || !fb.GetCounted() {
			t.Fatalf("feedback: %v %v", fb, err)
		}
	}
	rep, err := g.client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "career_advice"})
	if err != nil {
		t.Fatal(err)
	}
	total, feedback := int64(0), int64(0)
	for _, v := range rep.GetVariants() {
		total += v.GetRequests()
		feedback += v.GetFeedbackCount()
		if int(v.GetRequests()) != variants[v.GetVariant()] {
			t.Errorf("variant %s: %d requests reported, %d made", v.GetVariant(), v.GetRequests(), variants[v.GetVariant()])
		}
	}
	if total != 6 || feedback != 6 {
		t.Fatalf("report counts %d requests and %d verdicts, want 6 and 6: %v", total, feedback, rep)
	}
	// A forced request is not part of the experiment.
	r := request("career_advice", "u")
	r.ForceVariant = "gpt"
	if _, err := g.client.Complete(ctx, r); err != nil {
		t.Fatal(err)
	}
	rep, _ = g.client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "career_advice"})
	total = 0
	for _, v := range rep.GetVariants() {
		total += v.GetRequests()
	}
	if total != 6 {
		t.Fatalf("forced request counted: %d", total)
	}
}
