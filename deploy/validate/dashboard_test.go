package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// metrics are the names the gateway exports on its admin port's /metrics
// (histograms also as _bucket, _count and _sum). The dashboard and the
// alerts may use no others, so a misspelt name fails here instead of
// showing an empty panel or an alert that never fires.
var metrics = map[string]bool{
	"llmgateway_provider_retries_total":           true,
	"llmgateway_circuit_breaker_state":            true,
	"llmgateway_fallbacks_total":                  true,
	"llmgateway_hedges_total":                     true,
	"llmgateway_cache_lookups_total":              true,
	"llmgateway_cache_errors_total":               true,
	"llmgateway_cache_stores_total":               true,
	"llmgateway_cache_evictions_total":            true,
	"llmgateway_quota_rejections_total":           true,
	"llmgateway_budget_threshold_crossings_total": true,
	"llmgateway_quota_store_errors_total":         true,
	"llmgateway_config_reloads_total":             true,
	"llmgateway_config_info":                      true,
	"llmgateway_config_loaded_timestamp_seconds":  true,
	"gen_ai_client_operation_duration_seconds":    true,
	"gen_ai_client_token_usage":                   true,
	"gen_ai_server_request_duration_seconds":      true,
	"gen_ai_server_time_to_first_token_seconds":   true,
	"llmgateway_requests_total":                   true,
	"llmgateway_provider_errors_total":            true,
	"llmgateway_gateway_overhead_seconds":         true,
	"llmgateway_cost_usd_total":                   true,
	"llmgateway_cache_savings_usd_total":          true,
	"llmgateway_redis_up":                         true,
	"grpc_server_handled_total":                   true,
	"grpc_server_handling_seconds":                true,

	// Provider cooldowns after a 429 with Retry-After.
	"llmgateway_provider_cooldowns_total":                  true,
	"llmgateway_provider_cooldown_until_timestamp_seconds": true,
}

// labelNames share the metric names' prefix.
var labelNames = map[string]bool{
	"gen_ai_operation_name": true, "gen_ai_provider_name": true,
	"gen_ai_request_model": true, "gen_ai_token_type": true,
}

var nameRE = regexp.MustCompile(`\b(?:llmgateway|gen_ai|grpc_server)_[a-z0-9_]+`)

// unknownMetrics returns the metric names in expr that the gateway does
// not export.
func unknownMetrics(expr string) []string {
	var unknown []string
	for _, name := range nameRE.FindAllString(expr, -1) {
		if labelNames[name] || metrics[name] {
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if base == name || !metrics[base] {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"$route", ".*", "$provider", ".*")

func TestDashboardQueries(t *testing.T) {
	b, err := os.ReadFile("../grafana/llm-gateway.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("llm-gateway.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	for _, v := range d.Templating.List {
		if bad := unknownMetrics(v.Definition); len(bad) > 0 {
			t.Errorf("variable %s: unknown metrics %v", v.Name, bad)
		}
	}

	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	ids := map[int]bool{}
	all := ""
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource must be the ${datasource} variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if bad := unknownMetrics(q.Expr); len(bad) > 0 {
				t.Errorf("panel %q %s: unknown metrics %v", p.Title, q.RefID, bad)
			}
			all += q.Expr + "\n"
			rules = append(rules, rule{Record: fmt.Sprintf("dashboard:panel%d:%s", p.ID, q.RefID), Expr: grafanaVars.Replace(q.Expr)})
		}
	}

	// The architecture's key metrics are all on it.
	for what, want := range map[string]string{
		"latency p50":             "histogram_quantile(0.5, sum by (le) (rate(gen_ai_server_request_duration_seconds_bucket",
		"latency p95":             "histogram_quantile(0.95, sum by (le) (rate(gen_ai_server_request_duration_seconds_bucket",
		"latency p99":             "histogram_quantile(0.99, sum by (le) (rate(gen_ai_server_request_duration_seconds_bucket",
		"error rate by provider":  `sum by (gen_ai_provider_name) (rate(gen_ai_client_operation_duration_seconds_count{gen_ai_provider_name=~"$provider",error_type!=""}`,
		"tokens per provider/day": "sum by (gen_ai_provider_name, gen_ai_token_type) (increase(gen_ai_client_token_usage_sum",
		"cost $/hour":             "increase(llmgateway_cost_usd_total{route=~\"$route\"}[1h])",
		"cost $/day":              "increase(llmgateway_cost_usd_total{route=~\"$route\"}[1d])",
		"cost $/month":            "increase(llmgateway_cost_usd_total{route=~\"$route\"}[30d])",
		"cache hit rate":          `sum(rate(llmgateway_cache_lookups_total{result="hit"}`,
		"A/B variants":            "sum by (route, variant) (rate(llmgateway_requests_total",
		"circuit breakers":        "llmgateway_circuit_breaker_state",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no panel shows %s (%s)", what, want)
		}
	}

	// Every query parses: promtool checks them as recording rules.
	out, err := json.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command("promtool", "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules (the dashboard's queries; make system-deps installs promtool): %v\n%s", err, msg)
	}
}

// runbookPage is the page, relative to the repository's root, that holds a
// runbook heading for every alert.
const runbookPage = "docs/operations.md"

// runbookBase is how alerts.yml begins each runbook link: the external
// label that prometheus.yml sets, the root of the operator's copy of the
// repository.
const runbookBase = "{{ $externalLabels.runbook_base }}"

// TestPrometheusSetsRunbookBase: the scrape configuration sets the external
// label the alerts' runbook links start with, to an absolute URL.
func TestPrometheusSetsRunbookBase(t *testing.T) {
	b, err := os.ReadFile("../prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Global struct {
			ExternalLabels map[string]string `json:"external_labels"`
		} `json:"global"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	base := f.Global.ExternalLabels["runbook_base"]
	if !strings.HasPrefix(base, "https://") || strings.ContainsAny(base, "#?") || strings.HasSuffix(base, "/") {
		t.Fatalf("prometheus.yml: global.external_labels.runbook_base = %q, want an https URL without a trailing slash, query or fragment", base)
	}
}

func TestAlertsUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatal(err)
	}
	runbooks, err := os.ReadFile("../../" + runbookPage)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			n++
			if bad := unknownMetrics(r.Expr); len(bad) > 0 {
				t.Errorf("%s: unknown metrics %v", r.Alert, bad)
			}
			if r.For == "" {
				t.Errorf("%s: no for:", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs summary and description", r.Alert)
			}
			// The runbook link is the operator's copy of the operations
			// page (under the external label runbook_base) and the anchor
			// of one of its headings.
			url := r.Annotations["runbook_url"]
			anchor := strings.ToLower(r.Alert)
			if want := runbookBase + "/" + runbookPage + "#" + anchor; url != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, url, want)
			}
			if !regexp.MustCompile(`(?m)^#{2,6} ` + regexp.QuoteMeta(r.Alert) + `$`).Match(runbooks) {
				t.Errorf("%s: %s has no '### %s' runbook heading", r.Alert, runbookPage, r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerts")
	}
}
