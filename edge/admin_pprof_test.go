package edge_test

import (
	"net/http"
	"testing"

	"github.com/careerpath/llmgateway/edge"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestAdminPprof checks that the runtime profiles are on the admin port
// only when asked for.
func TestAdminPprof(t *testing.T) {
	files := map[string]string{"provider_settings.json": testProviders, "ab_test_config.json": testRoutes}
	off := startGatewayOpts(t, sim.Config{}, files, edge.Options{})
	if code := getStatus(t, "http://"+off.adminAddr+"/debug/pprof/heap"); code != http.StatusNotFound {
		t.Errorf("without Pprof: /debug/pprof/heap = %d, want 404", code)
	}
	on := startGatewayOpts(t, sim.Config{}, files, edge.Options{Pprof: true})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1", "/debug/pprof/profile?seconds=1"} {
		if code := getStatus(t, "http://"+on.adminAddr+path); code != http.StatusOK {
			t.Errorf("with Pprof: %s = %d, want 200", path, code)
		}
	}
}
