package edge_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/careerpath/llmgateway/console"
	"github.com/careerpath/llmgateway/edge"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestConsoleOnAdminPort checks that the console on a real gateway counts
// the calls made over gRPC, hears of a refused reload, and that the admin
// token guards every admin endpoint but health, readiness and metrics.
func TestConsoleOnAdminPort(t *testing.T) {
	const token = "admin-token-for-tests"
	files := map[string]string{"provider_settings.json": testProviders, "ab_test_config.json": testRoutes}
	cons := console.New(console.Options{Replica: "r1"})
	g := startGatewayOpts(t, sim.Config{}, files, edge.Options{Console: cons, AdminToken: token})
	for range 3 {
		if _, err := g.client.Complete(ctxT(t), request("openai_only", "u")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(g.dir, "ab_test_config.json"), []byte(`{"routes": {}, "bogus": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := g.srv.Reloader().Reload(ctxT(t), "test"); err == nil {
		t.Fatal("an invalid configuration was accepted")
	}

	admin := "http://" + g.adminAddr
	get := func(path, tok string, v any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, admin+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		if v != nil {
			if err := json.NewDecoder(res.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}
	for _, path := range []string{"/console/", "/console/api/overview", "/admin/config", "/admin/breakers"} {
		if code := get(path, "", nil); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d, want 401", path, code)
		}
		if code := get(path, "wrong", nil); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", path, code)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := get(path, "", nil); code != http.StatusOK {
			t.Errorf("%s: %d, want 200 without a token", path, code)
		}
	}
	var o console.Overview
	if code := get("/console/api/overview", token, &o); code != http.StatusOK {
		t.Fatalf("overview: %d", code)
	}
	if o.Totals.Requests != 3 || o.Totals.Codes["OK"] != 3 || len(o.Routes) != 1 || o.Routes[0].Name != "openai_only" {
		t.Errorf("overview: %+v", o.Totals)
	}
	var c console.ConfigView
	get("/console/api/config", token, &c)
	if len(c.History) != 2 || c.History[0].Applied || c.History[0].Reason != "test" || c.History[0].Error == "" {
		t.Errorf("history: %+v", c.History)
	}
}
