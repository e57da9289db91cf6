package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
)

var userMsg = providers.Message{Role: providers.RoleUser, Content: "How do I move into data engineering?"}

// jobMarket is a small loaded dataset keyed by occupation_code and region.
func jobMarket(t testing.TB) config.Dataset {
	t.Helper()
	const jsonl = `{"occupation_code": "15-1252", "region": "US-CA", "title": "Software Developers", "median_salary": 173780, "openings": ["Los Angeles", "San Jose"]}
{"occupation_code": "15-1252", "region": "US-TX", "title": "Software Developers", "median_salary": 124070}
{"occupation_code": "15-1199", "region": "US-CA", "title": "Computer Occupations, All Other"}
`
	key := []string{"occupation_code", "region"}
	tab, err := config.ReadTable("job_market.jsonl", strings.NewReader(jsonl), key)
	if err != nil {
		t.Fatal(err)
	}
	return config.Dataset{Path: "job_market.jsonl", Key: key, Table: tab}
}

// promptDecision builds a one-variant route "r" whose variant is v
// (target a/m1 filled in), with enrichment e over jobMarket, and returns
// its decision.
func promptDecision(t testing.TB, v config.Variant, e *config.Enrichment) *Decision {
	t.Helper()
	v.Name, v.Weight, v.Target = "v", 1, config.Target{Provider: "a", Model: "m1"}
	cfg := testConfig(map[string]config.Route{"r": {Variants: []config.Variant{v}, Enrichment: e}})
	cfg.Routes.Datasets["job_market"] = jobMarket(t)
	d, err := build(t, cfg).Route("r", "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMessages(t *testing.T) {
	sys := func(s string) providers.Message { return providers.Message{Role: providers.RoleSystem, Content: s} }
	usr := func(s string) providers.Message { return providers.Message{Role: providers.RoleUser, Content: s} }
	tests := []struct {
		name    string
		variant config.Variant
		vars    map[string]string
		want    []providers.Message
	}{
		{"no prompt", config.Variant{}, nil, []providers.Message{userMsg}},
		{"static system prompt", config.Variant{SystemPrompt: "You are a career coach."}, nil,
			[]providers.Message{sys("You are a career coach."), userMsg}},
		{"system template", config.Variant{SystemTemplate: "Coach {{.Vars.name}} toward {{.Vars.role}}."},
			map[string]string{"name": "Ada", "role": "data engineer"},
			[]providers.Message{sys("Coach Ada toward data engineer."), userMsg}},
		{"static and template", config.Variant{SystemPrompt: "You are a career coach.", SystemTemplate: "The user is {{.Vars.name}}."},
			map[string]string{"name": "Ada"},
			[]providers.Message{sys("You are a career coach.\n\nThe user is Ada."), userMsg}},
		{"blank template leaves static prompt alone", config.Variant{SystemPrompt: "P", SystemTemplate: "{{if .Vars.x}}X{{end}}"},
			map[string]string{"x": ""}, []providers.Message{sys("P"), userMsg}},
		{"user template before the caller's messages", config.Variant{UserTemplate: "My resume:\n{{.Vars.resume}}"},
			map[string]string{"resume": "QA engineer, 5 years"},
			[]providers.Message{usr("My resume:\nQA engineer, 5 years"), userMsg}},
		{"both templates", config.Variant{SystemTemplate: "S {{.Vars.a}}", UserTemplate: "U {{.Vars.b}}"},
			map[string]string{"a": "1", "b": "2"}, []providers.Message{sys("S 1"), usr("U 2"), userMsg}},
		{"variables are data, never template code", config.Variant{SystemTemplate: "Name: {{.Vars.name}}"},
			map[string]string{"name": "{{.Secret}} {{template \"x\"}} {{printf \"%s\" .}}", "Secret": "s3cr3t"},
			[]providers.Message{sys(`Name: {{.Secret}} {{template "x"}} {{printf "%s" .}}`), userMsg}},
		{"no HTML escaping", config.Variant{UserTemplate: "{{.Vars.q}}"}, map[string]string{"q": `<b>"R&D"</b>`},
			[]providers.Message{usr(`<b>"R&D"</b>`), userMsg}},
		{"optional variable through index", config.Variant{SystemTemplate: `Hi{{with index .Vars "nickname"}} {{.}}{{end}}.`},
			nil, []providers.Message{sys("Hi."), userMsg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := promptDecision(t, tt.variant, nil)
			got, err := d.Messages(Prompt{Vars: tt.vars, Messages: []providers.Message{userMsg}})
			if err != nil {
				t.Fatal(err)
			}
			if !equalMessages(got, tt.want) {
				t.Fatalf("messages =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func equalMessages(a, b []providers.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Role != b[i].Role || a[i].Content != b[i].Content {
			return false
		}
	}
	return true
}

func TestMessagesMissingVariable(t *testing.T) {
	tests := []struct {
		name, system, user, missing, source string
	}{
		{"root", "Coach {{.Vars.name}}.", "", "name", "system_template"},
		{"user template", "", "{{.Vars.resume}}", "resume", "user_template"},
		{"inside with .Vars", "{{with .Vars}}{{.role}}{{end}}", "", "role", "system_template"},
		{"through $", "{{range $i, $x := .Record}}{{end}}{{$.Vars.goal}}", "", "goal", "system_template"},
		{"in a branch taken", `{{if eq (index .Vars "mode") "x"}}{{.Vars.detail}}{{end}}`, "", "detail", "system_template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := promptDecision(t, config.Variant{SystemTemplate: tt.system, UserTemplate: tt.user}, nil)
			_, err := d.Messages(Prompt{Vars: map[string]string{"mode": "x"}})
			var mv *MissingVariableError
			if !errors.As(err, &mv) || !errors.Is(err, ErrMissingVariable) {
				t.Fatalf("err = %v, want a *MissingVariableError", err)
			}
			if mv.Name != tt.missing || mv.Source != tt.source || mv.Route != "r" || mv.Variant != "v" {
				t.Fatalf("error = %+v, want variable %q in %s", mv, tt.missing, tt.source)
			}
			if !strings.Contains(err.Error(), `"`+tt.missing+`"`) {
				t.Fatalf("message %q does not name the variable", err)
			}
		})
	}
	// A branch not taken needs nothing.
	d := promptDecision(t, config.Variant{SystemTemplate: `{{if eq (index .Vars "mode") "x"}}{{.Vars.detail}}{{end}}ok`}, nil)
	if _, err := d.Messages(Prompt{Vars: map[string]string{"mode": "y"}}); err != nil {
		t.Fatal(err)
	}
}

func TestMessagesRenderLimit(t *testing.T) {
	// One big variable.
	d := promptDecision(t, config.Variant{UserTemplate: "{{.Vars.text}}"}, nil)
	if _, err := d.Messages(Prompt{Vars: map[string]string{"text": strings.Repeat("x", MaxRenderedBytes+1)}}); !errors.Is(err, ErrPromptTooLarge) {
		t.Fatalf("err = %v, want ErrPromptTooLarge", err)
	}
	if _, err := d.Messages(Prompt{Vars: map[string]string{"text": strings.Repeat("x", MaxRenderedBytes)}}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	// A small variable multiplied by range.
	d = promptDecision(t, config.Variant{SystemTemplate: `{{range $i := 1000}}{{$.Vars.x}}{{end}}`}, nil)
	if _, err := d.Messages(Prompt{Vars: map[string]string{"x": strings.Repeat("y", 1024)}}); !errors.Is(err, ErrPromptTooLarge) {
		t.Fatalf("err = %v, want ErrPromptTooLarge", err)
	}
}

func TestEnrichment(t *testing.T) {
	const tmpl = `Coach.{{with .Record}} {{.title}} in {{.region}} earn a median of ${{.median_salary}}.{{end}}`
	tests := []struct {
		name       string
		on         string
		vars, tags map[string]string
		want       string
		err        error
	}{
		{"from tags", "skip", nil, map[string]string{"occupation_code": "15-1252", "region": "US-CA"},
			"Coach. Software Developers in US-CA earn a median of $173780.", nil},
		{"variables before tags", "skip", map[string]string{"region": "US-TX"}, map[string]string{"occupation_code": "15-1252", "region": "US-CA"},
			"Coach. Software Developers in US-TX earn a median of $124070.", nil},
		{"no record, skip", "skip", nil, map[string]string{"occupation_code": "15-1252", "region": "US-NY"}, "Coach.", nil},
		{"no key, skip", "", nil, nil, "Coach.", nil},
		{"separator in a value, skip", "skip", nil, map[string]string{"occupation_code": "15-1252|US", "region": "CA"}, "Coach.", nil},
		{"no record, fail", "fail", nil, map[string]string{"occupation_code": "15-1252", "region": "US-NY"}, "", ErrNoEnrichment},
		{"no key, fail", "fail", nil, map[string]string{"occupation_code": "15-1252"}, "", ErrMissingVariable},
		{"found, fail", "fail", map[string]string{"occupation_code": "15-1252", "region": "US-CA"}, nil,
			"Coach. Software Developers in US-CA earn a median of $173780.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := promptDecision(t, config.Variant{SystemTemplate: tmpl}, &config.Enrichment{Dataset: "job_market", OnMissing: tt.on})
			got, err := d.Messages(Prompt{Vars: tt.vars, Tags: tt.tags, Messages: []providers.Message{userMsg}})
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if len(got) != 2 || got[0].Content != tt.want || !reflect.DeepEqual(got[1], userMsg) {
				t.Fatalf("messages = %+v, want system %q", got, tt.want)
			}
		})
	}
}

func TestEnrichmentErrors(t *testing.T) {
	d := promptDecision(t, config.Variant{}, &config.Enrichment{Dataset: "job_market", Key: []string{"occ", "state"}, OnMissing: "fail"})
	_, err := d.Messages(Prompt{Tags: map[string]string{"occ": "15-1252", "state": "US-WA"}})
	var ne *NoEnrichmentError
	if !errors.As(err, &ne) || ne.Dataset != "job_market" || !strings.Contains(err.Error(), `occ="15-1252", state="US-WA"`) {
		t.Fatalf("err = %v", err)
	}
	_, err = d.Messages(Prompt{Tags: map[string]string{"occupation_code": "15-1252", "region": "US-CA"}})
	var mv *MissingVariableError
	if !errors.As(err, &mv) || mv.Name != "occ" || mv.Source != "enrichment key" {
		t.Fatalf("err = %v, want the route's key field occ missing", err)
	}
	rec, err := d.Record(map[string]string{"occ": "15-1199", "state": "US-CA"}, nil)
	if err != nil || rec["title"] != "Computer Occupations, All Other" {
		t.Fatalf("Record = %v, %v", rec, err)
	}
}

func TestEnrichmentRecordData(t *testing.T) {
	// Record values keep their JSON text and shape: numbers as written,
	// arrays to range over; a field the record lacks is the operator's
	// problem (ErrTemplate), not the caller's.
	d := promptDecision(t, config.Variant{
		SystemTemplate: `{{with .Record}}{{.median_salary}}:{{range .openings}}[{{.}}]{{end}}{{end}}`,
	}, &config.Enrichment{Dataset: "job_market"})
	got, err := d.Messages(Prompt{Vars: map[string]string{"occupation_code": "15-1252", "region": "US-CA"}})
	if err != nil || got[0].Content != "173780:[Los Angeles][San Jose]" {
		t.Fatalf("messages = %+v, %v", got, err)
	}
	if n, ok := mustRecord(t, d, "15-1252", "US-CA")["median_salary"].(json.Number); !ok || n.String() != "173780" {
		t.Fatalf("median_salary = %#v", n)
	}
	d = promptDecision(t, config.Variant{SystemTemplate: `{{with .Record}}{{.median_salary}}{{end}}`},
		&config.Enrichment{Dataset: "job_market"})
	_, err = d.Messages(Prompt{Vars: map[string]string{"occupation_code": "15-1199", "region": "US-CA"}})
	if !errors.Is(err, ErrTemplate) || errors.Is(err, ErrMissingVariable) {
		t.Fatalf("err = %v, want ErrTemplate", err)
	}
}

func mustRecord(t *testing.T, d *Decision, occ, region string) map[string]any {
	t.Helper()
	rec, err := d.Record(map[string]string{"occupation_code": occ, "region": region}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestDirectMessagesPassThrough(t *testing.T) {
	r := testRouter(t, nil, 1)
	d, err := r.Direct("a", "m1")
	if err != nil {
		t.Fatal(err)
	}
	in := []providers.Message{userMsg}
	got, err := d.Messages(Prompt{Vars: map[string]string{"x": "y"}, Messages: in})
	if err != nil || !equalMessages(got, in) {
		t.Fatalf("messages = %v, %v", got, err)
	}
}

func BenchmarkMessages(b *testing.B) {
	d := promptDecision(b, config.Variant{
		SystemPrompt:   "You are a career coach.",
		SystemTemplate: `The user is {{.Vars.name}}.{{with .Record}} {{.title}}: median ${{.median_salary}}.{{end}}`,
	}, &config.Enrichment{Dataset: "job_market"})
	p := Prompt{
		Vars:     map[string]string{"name": "Ada"},
		Tags:     map[string]string{"occupation_code": "15-1252", "region": "US-CA"},
		Messages: []providers.Message{userMsg},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Messages(p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	d := promptDecision(t, config.Variant{SystemTemplate: `{{.Vars.name}}{{with .Record}} {{.title}}{{end}}`},
		&config.Enrichment{Dataset: "job_market"})
	r := testRouter(t, nil, 50, 50)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				if _, err := r.Route("r", fmt.Sprint(g, i)); err != nil {
					t.Error(err)
					return
				}
				got, err := d.Messages(Prompt{
					Vars: map[string]string{"name": "n"},
					Tags: map[string]string{"occupation_code": "15-1252", "region": "US-CA"},
				})
				if err != nil || got[0].Content != "n Software Developers" {
					t.Errorf("messages = %v, %v", got, err)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
