package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/usage"

	// The default configuration's routes are answered by the simulator.
	_ "github.com/careerpath/llmgateway/providers/sim"
)

// fixture is a console with real memory stores behind its real handler.
type fixture struct {
	c   *Console
	srv *httptest.Server
	cfg *config.Config
	use *usage.MemoryStore
	exp *experiment.MemoryStore
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{cfg: cfg, use: usage.NewMemoryStore(usage.MemoryOptions{}), exp: experiment.NewMemoryStore(experiment.MemoryOptions{})}
	f.c = New(Options{Replica: "test-replica"})
	f.c.ConfigApplied(cfg, "start", time.Now())
	f.srv = httptest.NewServer(f.c.Handler(Sources{Usage: f.use, Experiments: f.exp,
		Config: func() *config.Config { return f.cfg }, Reload: func() any { return map[string]string{"source": ""} },
		Breakers: func() []Breaker { return []Breaker{{Provider: "openai", State: "closed"}} }}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) get(t *testing.T, path string, v any) int {
	t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
	}
	return res.StatusCode
}

func TestAPIOverviewAndCalls(t *testing.T) {
	f := newFixture(t)
	f.c.Record(Outcome{Route: "career_advice", Variant: "a", Provider: "openai", Model: "gpt", Client: "web", Code: codes.OK,
		Step: "primary", Cache: "miss", InputTokens: 5, OutputTokens: 7, CostNanos: 42, Latency: 20 * time.Millisecond})
	f.c.Record(Outcome{Route: "resume", Provider: "flaky", Client: "jobs", Code: codes.Unavailable, Latency: time.Second})
	var o struct {
		Replica, Scope string
		Totals         struct{ Requests, Errors int64 }
		Routes         []struct {
			Name     string
			Requests int64
		}
	}
	if code := f.get(t, "/console/api/overview?range=24h", &o); code != 200 {
		t.Fatalf("overview: %d", code)
	}
	if o.Replica != "test-replica" || o.Scope != ScopeReplica || o.Totals.Requests != 2 || o.Totals.Errors != 1 || len(o.Routes) != 2 {
		t.Errorf("overview: %+v", o)
	}
	if code := f.get(t, "/console/api/overview?range=2d", nil); code != http.StatusBadRequest {
		t.Errorf("range=2d: %d, want 400", code)
	}
	var calls Calls
	f.get(t, "/console/api/calls?status=unavailable", &calls)
	if len(calls.Calls) != 1 || calls.Calls[0].Route != "resume" || calls.Calls[0].Client != "jobs" {
		t.Errorf("filtered calls: %+v", calls.Calls)
	}
	if code := f.get(t, "/console/api/nothing", nil); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", code)
	}
}

func TestAPIExperimentWinner(t *testing.T) {
	f := newFixture(t)
	route := "career_advice"
	vs := f.cfg.Routes.Routes[route].Variants
	if len(vs) < 2 {
		t.Fatalf("the default configuration's %s has %d variants, want 2 or more", route, len(vs))
	}
	ctx := context.Background()
	id := f.cfg.Routes.Routes[route].ExperimentID(route)
	// The second variant wins 40 of 50; the first 15 of 50.
	for i, wins := range []int{15, 40} {
		for j := range 50 {
			rid := fmt.Sprintf("%s-%d", vs[i].Name, j)
			if err := f.exp.Record(ctx, experiment.Observation{Route: route, Experiment: id, Variant: vs[i].Name, ResponseID: rid,
				Latency: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.exp.Feedback(ctx, rid, experiment.AnyClient, experiment.Bool(j < wins)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var e Experiments
	f.get(t, "/console/api/experiments", &e)
	for _, x := range e.Experiments {
		if x.Route != route {
			continue
		}
		want := fmt.Sprintf("%s is better than %s, p < 0.001", vs[1].Name, vs[0].Name)
		if x.Winner != vs[1].Name || x.Verdict != want {
			t.Errorf("winner %q, verdict %q; want %q", x.Winner, x.Verdict, want)
		}
		if v := x.Variants[1]; v.Successes != 40 || float64(v.CILow) > 0.8 || float64(v.CIHigh) < 0.8 {
			t.Errorf("variant %+v", v)
		}
		return
	}
	t.Errorf("no experiment for %s in %+v", route, e)
}

func TestVerdictNeedsData(t *testing.T) {
	vs := []VariantStats{{Name: "a", Successes: 50, Failures: 50}, {Name: "b", Successes: 52, Failures: 48}}
	cs := []Comparison{{Leader: "b", Variant: "a", PValue: 0.78}}
	winner, s, needed := verdict(vs, "b", cs)
	if winner != "" || needed != experiment.SampleSize(0.51, 0.53, experiment.Alpha, experiment.Power) {
		t.Errorf("winner %q, needed %d", winner, needed)
	}
	want := fmt.Sprintf("not enough data: about %d more answers per variant to detect a 2-point difference", needed-100)
	if s != want {
		t.Errorf("verdict %q, want %q", s, want)
	}
	if _, s, _ := verdict([]VariantStats{{Name: "a"}, {Name: "b"}}, "", nil); !strings.HasPrefix(s, "no feedback yet: about ") {
		t.Errorf("without feedback: %q", s)
	}
}

func TestAPIUsageCSVAndBudgets(t *testing.T) {
	f := newFixture(t)
	f.cfg = &config.Config{Routes: f.cfg.Routes, Version: "v", RateLimits: config.RateLimits{Limits: []config.Limit{
		{Name: "spend", Scope: []string{config.ScopeAPIKey}, USDPerDay: 1},
		{Name: "per_user", Scope: []string{config.ScopeUser}, Routes: []string{"r1"}, USDPerMonth: 10},
	}}}
	ctx := context.Background()
	now := time.Now()
	for _, e := range []usage.Entry{
		{Time: now, Dims: usage.Dims{Client: "web", Route: "r1", Provider: "openai", Model: "m"}, InputTokens: 10, Cost: 800_000_000},
		{Time: now, Dims: usage.Dims{Client: "jobs", Route: "r2", Provider: "openai", Model: "m"}, OutputTokens: 3, Cost: 1},
	} {
		if err := f.use.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var u Usage
	f.get(t, "/console/api/usage?days=1&group=client", &u)
	if u.Scope != ScopeCluster || len(u.Rows) != 2 {
		t.Fatalf("usage: %+v", u)
	}
	burns := map[string]float64{}
	for _, b := range u.Budgets {
		burns[b.Limit+"/"+b.Group] = float64(b.Burn)
	}
	want := map[string]float64{"spend/client jobs": 1e-9, "spend/client web": 0.8, "per_user/": 0.08}
	if fmt.Sprint(burns) != fmt.Sprint(want) {
		t.Errorf("burns %v, want %v", burns, want)
	}
	res, err := http.Get(f.srv.URL + "/console/api/usage?days=1&group=client&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	day := now.UTC().Format(time.DateOnly)
	wantCSV := "day,client,requests,cache_hits,input_tokens,output_tokens,cost_usd\n" +
		day + ",jobs,1,0,0,3,0.000000001\n" + day + ",web,1,0,10,0,0.800000000\n"
	if string(b) != wantCSV {
		t.Errorf("csv:\n%s\nwant:\n%s", b, wantCSV)
	}
	if code := f.get(t, "/console/api/usage?group=user", nil); code != http.StatusBadRequest {
		t.Errorf("group=user: %d, want 400", code)
	}
}

func TestAPIConfigHistoryAndDiff(t *testing.T) {
	f := newFixture(t)
	next := *f.cfg
	next.Version = "next"
	next.Providers.Providers = map[string]config.Provider{}
	for name, p := range f.cfg.Providers.Providers {
		p.Headers = map[string]string{"X-Api-Key": "sk-live-secret"}
		p.BaseURL = "https://user:pw@example.test/v1?key=sk-query-secret"
		next.Providers.Providers[name] = p
	}
	f.c.ConfigApplied(&next, "SIGHUP", time.Now())
	f.c.ConfigRefused("next", "file change", fmt.Errorf("ab_test_config.json: $.routes: bad"), time.Now())
	res, err := http.Get(f.srv.URL + "/console/api/config")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	for _, secret := range []string{"sk-live-secret", "sk-query-secret", ":pw@"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("config view shows %q", secret)
		}
	}
	var v ConfigView
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "next" || len(v.History) != 3 || v.History[0].Applied || v.History[0].Error != "ab_test_config.json: $.routes: bad" {
		t.Errorf("history: %+v", v.History)
	}
	if v.Diff == nil || v.Diff.To != "next" || len(v.Diff.Changes) == 0 {
		t.Fatalf("diff: %+v", v.Diff)
	}
	for _, c := range v.Diff.Changes {
		if !strings.HasPrefix(c.Path, "$.provider_settings.json.providers.") {
			t.Errorf("unexpected change %+v", c)
		}
	}
}

func TestRedact(t *testing.T) {
	cfg := &config.Config{Clients: &config.Clients{Clients: []config.Client{{Name: "web", KeySHA256: strings.Repeat("ab", 32)}}},
		Providers: config.ProviderSettings{Providers: map[string]config.Provider{"p": {Kind: "openai", APIKeyEnv: "OPENAI_API_KEY",
			Options: []byte(`{"client_secret":"s3cr3t","region":"eu"}`)}}}}
	b, _ := json.Marshal(Redact(cfg))
	s := string(b)
	for _, leak := range []string{"abab", "s3cr3t"} {
		if strings.Contains(s, leak) {
			t.Errorf("redacted config holds %q: %s", leak, s)
		}
	}
	for _, kept := range []string{"OPENAI_API_KEY", `"region":"eu"`, `"name":"web"`} {
		if !strings.Contains(s, kept) {
			t.Errorf("redacted config lost %q: %s", kept, s)
		}
	}
}

func TestStaticPages(t *testing.T) {
	f := newFixture(t)
	res, err := http.Get(f.srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "LLM gateway console") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("index: %d %s", res.StatusCode, b)
	}
}
