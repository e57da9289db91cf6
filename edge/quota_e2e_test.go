package edge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	"github.com/careerpath/llmgateway/providers/sim"
)

func startQuotaGateway(t *testing.T, limits string) *gateway {
	return startGatewayFiles(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     testRoutes,
		config.RateLimitsFile:       limits,
	})
}

func TestQuotaRequestsPerMinute(t *testing.T) {
	g := startQuotaGateway(t, `{"limits": [{"name": "per_user", "scope": ["user"], "requests_per_minute": 3}]}`)
	for i := range 3 {
		var md metadata.MD
		if _, err := g.client.Complete(ctxT(t), request("openai_only", "u1"), grpc.Header(&md)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		// Successful answers say what is left.
		if got := md.Get("x-ratelimit-remaining-requests"); len(got) != 1 || got[0] != strconv.Itoa(2-i) {
			t.Fatalf("request %d: remaining %v", i, md)
		}
	}
	_, err := g.client.Complete(ctxT(t), request("openai_only", "u1"))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("4th request: %v", err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.RetryDelay.AsDuration() <= 0 {
		t.Fatalf("no RetryInfo: %v", st.Details())
	}
	// Another user has a counter of their own.
	if _, err := g.client.Complete(ctxT(t), request("openai_only", "u2")); err != nil {
		t.Fatalf("other user: %v", err)
	}
	// Over REST: 429 with Retry-After and rate-limit headers.
	body := `{"route":"openai_only","messages":[{"role":"ROLE_USER","content":"Hi"}],"caller":{"subject":"u1"}}`
	resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("X-Ratelimit-Limit") != "3" {
		t.Fatalf("REST: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	if !strings.Contains(scrape(t, g), `llmgateway_quota_rejections_total{kind="requests_per_minute",limit="per_user"} 2`) {
		t.Fatal("rejections not counted")
	}
}

func TestQuotaBudgetStopsSpend(t *testing.T) {
	events := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		events <- ev
	}))
	defer hook.Close()
	// Each answer costs about $0.000017 (gpt-4o-mini prices, ~30 tokens):
	// a $0.00005 daily budget admits a few requests, then stops.
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     testRoutes,
		config.RateLimitsFile:       `{"limits": [{"name": "daily", "usd_per_day": 0.00005}]}`,
	}, edge.Options{Service: core.Options{BudgetWebhook: hook.URL}})
	spent, admitted := 0.0, 0
	var spentNanos int64
	for range 20 {
		resp, err := g.client.Complete(ctxT(t), request("openai_only", ""))
		if status.Code(err) == codes.ResourceExhausted {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		spent += resp.CostUsd
		spentNanos += resp.CostNanoUsd
		admitted++
	}
	if admitted == 0 || admitted == 20 {
		t.Fatalf("%d requests admitted", admitted)
	}
	// The budget stops spend within one request's cost.
	if spent > 0.00005+spent/float64(admitted) {
		t.Fatalf("spent $%g on a $0.00005 budget", spent)
	}
	if !strings.Contains(scrape(t, g), `llmgateway_budget_threshold_crossings_total{kind="usd_per_day",limit="daily",threshold="1"} 1`) {
		t.Fatalf("budget crossing not counted:\n%s", grepLines(scrape(t, g), "budget"))
	}
	// The webhook hears of 80% and of 100%, once each.
	got := map[string]bool{}
	for range 2 {
		select {
		case ev := <-events:
			got[ev["event"].(string)] = true
			if ev["limit"] != "daily" || ev["budget_usd"].(float64) != 0.00005 || ev["budget_nano_usd"].(float64) != 50_000 {
				t.Errorf("event %v", ev)
			}
			// The last admitted answer crossed 100%: the event's spend is
			// every admitted answer's cost, exactly.
			if ev["event"] == "budget_exhausted" && (ev["spent_nano_usd"].(float64) != float64(spentNanos) ||
				ev["spent_usd"].(float64) != float64(spentNanos)/config.NanosPerUSD) {
				t.Errorf("exhausted at %v (%v nano-dollars), want %d nano-dollars", ev["spent_usd"], ev["spent_nano_usd"], spentNanos)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("webhook events so far: %v", got)
		}
	}
	if !got["budget_warning"] || !got["budget_exhausted"] {
		t.Fatalf("webhook events %v", got)
	}
}

func TestQuotaConcurrentStreams(t *testing.T) {
	g := startQuotaGateway(t, `{"limits": [{"name": "streams", "scope": ["user"], "concurrent_streams": 1}]}`)
	if err := g.openai.SetConfig(sim.Config{InterToken: 20 * 1e6}); err != nil { // 20ms per token
		t.Fatal(err)
	}
	first, err := g.client.Stream(ctxT(t), request("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Recv(); err != nil {
		t.Fatal(err)
	}
	second, err := g.client.Stream(ctxT(t), request("openai_only", "u"))
	if err == nil {
		_, err = second.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second concurrent stream: %v", err)
	}
	drain(t, first)
	third, err := g.client.Stream(ctxT(t), request("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	drain(t, third) // the slot was given back
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestBudgetFallbackVariant(t *testing.T) {
	routes := `{"routes": {"career_advice": {
	  "variants": [
	    {"name": "premium", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1},
	    {"name": "cheap", "provider": "openai", "model": "gpt-4o-mini", "weight": 0}],
	  "budget_fallback_variant": "cheap"}}}`
	g := startQuotaGatewayRoutes(t, routes, `{"limits": [{"name": "daily", "scope": ["route"], "usd_per_day": 0.0002}]}`)
	sawCheap := false
	for range 10 {
		resp, err := g.client.Complete(ctxT(t), request("career_advice", ""))
		if err != nil {
			t.Fatalf("with a fallback variant the budget must not refuse: %v", err)
		}
		if resp.Variant == "cheap" {
			sawCheap = true
		} else if sawCheap {
			t.Fatal("back on the premium variant after the budget ran out")
		}
	}
	if !sawCheap {
		t.Fatal("the budget never ran out")
	}
}

func startQuotaGatewayRoutes(t *testing.T, routes, limits string) *gateway {
	return startGatewayFiles(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     routes,
		config.RateLimitsFile:       limits,
	})
}
