package config

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

const jobMarketJSONL = `{"occupation_code": "15-1252", "region": "US-CA", "title": "Software Developers", "median_salary": 173780}

{"occupation_code": "15-1252", "region": "US-TX", "title": "Software Developers", "median_salary": 124070.50}
`

// abWith is an ab_test_config.json with two variants, a job_market
// dataset, and extra spliced into route career_advice.
func abWith(routeExtra, variantExtra string) string {
	return `{
  "datasets": {"job_market": {"path": "job_market.jsonl", "key": ["occupation_code", "region"]}},
  "routes": {
    "career_advice": {
      "variants": [
        {"name": "a", "provider": "openai", "model": "gpt-4o-mini", "weight": 1` + variantExtra + `},
        {"name": "b", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}
      ]` + routeExtra + `
    },
    "resume_review": {"variants": [{"name": "a", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]}
  }
}`
}

func loadWith(t *testing.T, ab string, files map[string]string) (*Config, error) {
	t.Helper()
	fsys := fstest.MapFS{
		ProviderSettingsFile: {Data: []byte(goodProviders)},
		ABTestConfigFile:     {Data: []byte(ab)},
	}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return LoadFS(fsys)
}

var jobMarketFile = map[string]string{"job_market.jsonl": jobMarketJSONL}

func TestLoadExperimentsTemplatesAndDatasets(t *testing.T) {
	ab := abWith(`,
      "experiment": {"id": "career_advice_2026_11", "salt": "x7", "control": "b"},
      "enrichment": {"dataset": "job_market", "key": ["occupation_code", "region"], "on_missing": "skip"}`,
		`, "system_prompt": "You are a career coach.",
         "system_template": "{{with .Record}}{{.title}} earn {{.median_salary}}.{{end}} Goal: {{.Vars.goal}}",
         "user_template": "{{.Vars.question}}"`)
	cfg, err := loadWith(t, ab, jobMarketFile)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routes.Routes["career_advice"]
	if r.ExperimentID("career_advice") != "career_advice_2026_11" || r.Experiment.Salt != "x7" {
		t.Fatalf("experiment = %+v", r.Experiment)
	}
	if id := cfg.Routes.Routes["resume_review"].ExperimentID("resume_review"); id != "resume_review" {
		t.Fatalf("default experiment id = %q", id)
	}
	tab := cfg.Routes.Datasets["job_market"].Table
	if tab == nil || tab.Len() != 2 {
		t.Fatalf("table = %+v", tab)
	}
	rec, ok := tab.Lookup("15-1252", "US-TX")
	if !ok || rec["median_salary"] != json.Number("124070.50") {
		t.Fatalf("Lookup = %v, %v", rec, ok)
	}
	if _, ok := tab.Lookup("15-1252", "US-NY"); ok {
		t.Fatal("found a record that does not exist")
	}
	// Encoding writes the declaration, not the records.
	files, err := cfg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(files[ABTestConfigFile]); !strings.Contains(s, `"path": "job_market.jsonl"`) || strings.Contains(s, "173780") {
		t.Fatalf("encoded:\n%s", s)
	}
}

func TestRouteValidationErrors(t *testing.T) {
	const enrich = `, "enrichment": {"dataset": "job_market"}`
	tests := []struct {
		name                string
		routeExtra, variant string
		files               map[string]string
		want                string
	}{
		{"unknown control variant", `, "experiment": {"control": "c"}`, "", jobMarketFile,
			`ab_test_config.json: $.routes.career_advice.experiment.control: unknown variant "c"`},
		{"duplicate experiment id", `, "experiment": {"id": "resume_review"}`, "", jobMarketFile,
			`ab_test_config.json: $.routes.resume_review: experiment id "resume_review" is already used by route "career_advice"`},
		{"bad experiment id", `, "experiment": {"id": "a b"}`, "", jobMarketFile,
			`$.routes.career_advice.experiment.id: must match`},
		{"long salt", `, "experiment": {"salt": "` + strings.Repeat("s", 65) + `"}`, "", jobMarketFile,
			`$.routes.career_advice.experiment.salt: must be at most 64 bytes`},
		{"unknown dataset", `, "enrichment": {"dataset": "salaries"}`, "", jobMarketFile,
			`$.routes.career_advice.enrichment.dataset: unknown dataset "salaries"`},
		{"key length mismatch", `, "enrichment": {"dataset": "job_market", "key": ["occupation_code"]}`, "", jobMarketFile,
			`$.routes.career_advice.enrichment.key: has 1 fields but dataset "job_market" is keyed by 2`},
		{"key fields swapped", `, "enrichment": {"dataset": "job_market", "key": ["region", "occupation_code"]}`, "", jobMarketFile,
			`$.routes.career_advice.enrichment.key: lists dataset "job_market"'s key fields in another order`},
		{"bad on_missing", `, "enrichment": {"dataset": "job_market", "on_missing": "ignore"}`, "", jobMarketFile,
			`$.routes.career_advice.enrichment.on_missing: must be "skip" or "fail", not "ignore"`},
		{"template does not parse", "", `, "system_template": "Hello {{.Vars.name"`, jobMarketFile,
			`ab_test_config.json: $.routes.career_advice.variants[0].system_template: template: system_template:1: unclosed action`},
		{"template reads an unknown field", "", `, "user_template": "{{.Name}}"`, jobMarketFile,
			`$.routes.career_advice.variants[0].user_template: template reads .Name; templates see only .Vars and .Record`},
		{"record without enrichment", "", `, "system_template": "{{with .Record}}{{.title}}{{end}}"`, jobMarketFile,
			`$.routes.career_advice.variants[0].system_template: reads .Record but the route has no enrichment`},
		{"unguarded record with skip", enrich, `, "system_template": "{{.Record.title}}"`, jobMarketFile,
			`$.routes.career_advice.variants[0].system_template: reads .Record.title outside {{with .Record}}`},
		{"same backup twice", `, "backups": [{"provider": "openai", "model": "gpt-4o-mini"}, {"provider": "openai", "model": "gpt-4o-mini"}]`, "", jobMarketFile,
			`$.routes.career_advice.backups[1]: backup openai/gpt-4o-mini is already listed as backups[0]`},
		{"dataset file missing", enrich, "", nil,
			`ab_test_config.json: $.datasets.job_market.path: job_market.jsonl: file not found`},
		{"dataset line not JSON", enrich, "", map[string]string{"job_market.jsonl": jobMarketJSONL + "{\"occupation_code\": \n"},
			`$.datasets.job_market.path: job_market.jsonl: line 4: invalid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadWith(t, abWith(tt.routeExtra, tt.variant), tt.files)
			if err == nil {
				t.Fatal("config accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

func TestRouteValidationAccepts(t *testing.T) {
	for name, tt := range map[string]struct{ routeExtra, variant string }{
		"record fields unguarded with fail": {`, "enrichment": {"dataset": "job_market", "on_missing": "fail"}`,
			`, "system_template": "{{.Record.title}}"`},
		"record guarded by if": {`, "enrichment": {"dataset": "job_market"}`,
			`, "system_template": "{{if .Record}}{{.Record.title}}{{else}}no data{{end}}"`},
		"record through $ inside with": {`, "enrichment": {"dataset": "job_market", "key": ["occ", "region"]}`,
			`, "system_template": "{{with $.Record}}{{range $.Vars}}{{.}}{{end}}{{$.Record.title}}{{end}}"`},
		"backup equal to a variant's target":  {`, "backups": [{"provider": "openai", "model": "gpt-4o-mini"}]`, ""},
		"static prompt and template together": {"", `, "system_prompt": "P", "system_template": "{{.Vars.x}}"`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := loadWith(t, abWith(tt.routeExtra, tt.variant), jobMarketFile); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWeightLimit(t *testing.T) {
	ab := strings.Replace(abWith("", ""), `"weight": 1`, `"weight": 1000001`, 1)
	_, err := loadWith(t, ab, jobMarketFile)
	if err == nil || !strings.Contains(err.Error(), `$.routes.career_advice.variants[0].weight: must be at most 1000000`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDatasetDeclarationErrors(t *testing.T) {
	tests := []struct{ decl, want string }{
		{`{"path": "../job_market.jsonl", "key": ["a"]}`, `$.datasets.d.path: must be a plain file name in the configuration directory`},
		{`{"path": "data/job_market.jsonl", "key": ["a"]}`, `$.datasets.d.path: must be a plain file name`},
		{`{"path": "job_market.csv", "key": ["a"]}`, `$.datasets.d.path: must end in ".jsonl" (JSON Lines) or ".parquet" (Parquet)`},
		{`{"key": ["a"]}`, `$.datasets.d.path: is required`},
		{`{"path": "job_market.jsonl"}`, `$.datasets.d.key: at least one key field is required`},
		{`{"path": "job_market.jsonl", "key": ["a", "a"]}`, `$.datasets.d.key: key field "a" is listed twice`},
		{`{"path": "job_market.jsonl", "key": ["a"], "format": "parquet"}`, `unknown field "format"`},
	}
	for _, tt := range tests {
		ab := `{"datasets": {"d": ` + tt.decl + `}, "routes": {"r": {"variants": [{"name": "a", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]}}}`
		_, err := loadWith(t, ab, jobMarketFile)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.decl, err, tt.want)
		}
	}
}

func TestReadTableErrorsNameFileAndLine(t *testing.T) {
	key := []string{"occupation_code", "region"}
	tests := []struct{ name, body, want string }{
		{"invalid JSON", "{\"occupation_code\": \"1\", \"region\": \"r\"}\n{oops}\n", `jm.jsonl: line 2: invalid JSON`},
		{"not an object", `["15-1252", "US-CA"]`, `jm.jsonl: line 1: must be a JSON object`},
		{"two objects on a line", `{"occupation_code": "1", "region": "r"} {}`, `jm.jsonl: line 1: unexpected data after the JSON object`},
		{"missing key field", "\n\n{\"occupation_code\": \"1\"}", `jm.jsonl: line 3: key field "region" is missing or null`},
		{"key field of the wrong type", `{"occupation_code": true, "region": "r"}`, `jm.jsonl: line 1: key field "occupation_code" must be a string or a number, not bool`},
		{"separator in a key", `{"occupation_code": "1|2", "region": "r"}`, `jm.jsonl: line 1: key field "occupation_code" must not contain "|"`},
		{"duplicate key", "{\"occupation_code\": \"1\", \"region\": \"r\"}\n{\"occupation_code\": 1, \"region\": \"r\"}", `jm.jsonl: line 2: key "1|r" is already used by line 1`},
		{"line too long", `{"occupation_code": "1", "region": "r", "x": "` + strings.Repeat("x", MaxDatasetLineBytes) + `"}`, `jm.jsonl: line 1: longer than`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadTable("jm.jsonl", strings.NewReader(tt.body), key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewTable(t *testing.T) {
	tab, err := NewTable([]string{"k"}, []map[string]any{{"k": "a", "v": 1}, {"k": json.Number("2")}})
	if err != nil || tab.Len() != 2 {
		t.Fatalf("NewTable = %v, %v", tab, err)
	}
	if rec, ok := tab.Lookup("a"); !ok || rec["v"] != 1 {
		t.Fatalf("Lookup(a) = %v, %v", rec, ok)
	}
	if _, ok := tab.Lookup("a", "b"); ok {
		t.Fatal("Lookup with two values on a one-field key")
	}
	if _, err := NewTable([]string{"k"}, []map[string]any{{"k": "a"}, {"k": "a"}}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("duplicate: err = %v", err)
	}
}

func TestParsePromptTemplate(t *testing.T) {
	tests := []struct {
		text       string
		vars       []string
		usesRecord bool
		unguarded  []string
	}{
		{"plain text", nil, false, nil},
		{"{{.Vars.b}} {{.Vars.a}} {{.Vars.b}}", []string{"a", "b"}, false, nil},
		{"{{with .Vars}}{{.x}}{{end}}", []string{"x"}, false, nil},
		{`{{index .Vars "opt"}}`, nil, false, nil},
		{"{{.Record.title}}", nil, true, []string{"title"}},
		{"{{with .Record}}{{.title}}{{end}}", nil, true, nil},
		{"{{if .Record}}{{.Record.title}}{{else}}{{.Record.fallback}}{{end}}", nil, true, []string{"fallback"}},
		{`{{define "part"}}{{.Vars.inner}}{{end}}{{template "part" .}}`, []string{"inner"}, false, nil},
		{"{{range .Record.openings}}{{.city}}{{end}}", nil, true, []string{"openings"}},
	}
	for _, tt := range tests {
		p, err := ParsePromptTemplate("t", tt.text)
		if err != nil {
			t.Errorf("%s: %v", tt.text, err)
			continue
		}
		if strings.Join(p.Vars(), ",") != strings.Join(tt.vars, ",") || p.UsesRecord() != tt.usesRecord ||
			strings.Join(p.UnguardedRecordFields(), ",") != strings.Join(tt.unguarded, ",") {
			t.Errorf("%s: vars %v, record %v, unguarded %v; want %v, %v, %v", tt.text,
				p.Vars(), p.UsesRecord(), p.UnguardedRecordFields(), tt.vars, tt.usesRecord, tt.unguarded)
		}
	}
	if _, err := ParsePromptTemplate("t", strings.Repeat("x", MaxTemplateBytes+1)); err == nil {
		t.Error("oversized template accepted")
	}
}

func TestDefaultShipsEnrichment(t *testing.T) {
	cfg, err := Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routes.Routes["career_advice"]
	if r.Enrichment == nil || r.Experiment == nil {
		t.Fatalf("career_advice = %+v", r)
	}
	if tab := cfg.Routes.Datasets[r.Enrichment.Dataset].Table; tab == nil || tab.Len() == 0 {
		t.Fatalf("the default dataset is not loaded: %+v", cfg.Routes.Datasets)
	}
}
