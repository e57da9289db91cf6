package edge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers/sim"
)

// TestRESTWrongMethodIs405: a REST path called with a method it does not
// serve answers 405 with an Allow header naming the methods its
// google.api.http annotations bind, and grpc-gateway's error body; an
// unknown path stays 404.
func TestRESTWrongMethodIs405(t *testing.T) {
	g := startGateway(t, sim.Config{})
	allowed := map[string][]string{}
	pathParam := regexp.MustCompile(`\{[^}]+\}`)
	for _, r := range restRoutes(t) {
		p := pathParam.ReplaceAllString(r.path, "career_advice")
		allowed[p] = append(allowed[p], strings.ToUpper(r.method))
	}
	if len(allowed) == 0 {
		t.Fatal("no REST routes")
	}
	for p, methods := range allowed {
		slices.Sort(methods)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			if slices.Contains(methods, m) {
				continue
			}
			req, err := http.NewRequestWithContext(ctxT(t), m, "http://"+g.httpAddr+p, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d %s, want 405", m, p, res.StatusCode, b)
				continue
			}
			if got, want := res.Header.Get("Allow"), strings.Join(methods, ", "); got != want {
				t.Errorf("%s %s: Allow %q, want %q", m, p, got, want)
			}
			var st struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(b, &st); err != nil || st.Message == "" {
				t.Errorf("%s %s: body %s is not a status (%v)", m, p, b, err)
			}
		}
	}

	res, err := http.Get("http://" + g.httpAddr + "/v1/no-such-path")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Allow") != "" {
		t.Errorf("GET /v1/no-such-path: %d, Allow %q; want 404 without Allow", res.StatusCode, res.Header.Get("Allow"))
	}
}
