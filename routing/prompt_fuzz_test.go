package routing

import (
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
)

// FuzzMessagesVariablesAreData renders templates with arbitrary variable
// values: whatever they hold (template code included), they come out
// literally, in place, and nothing else changes.
func FuzzMessagesVariablesAreData(f *testing.F) {
	for _, s := range [][2]string{
		{"Ada", "data engineer"},
		{`{{.Vars.b}}`, `{{template "x"}}`},
		{`{{define "x"}}y{{end}}`, `{{call .f}}`},
		{`{{printf "%s" .}}`, `{{range .Vars}}{{.}}{{end}}`},
		{"{{", "}}"},
		{"<b>&amp;</b>", "\x00\xff\u2028"},
	} {
		f.Add(s[0], s[1])
	}
	d := promptDecision(f, config.Variant{
		SystemTemplate: "Coach {{.Vars.a}} toward {{.Vars.b}}.",
		UserTemplate:   "{{with .Vars}}[{{.b}}|{{.a}}]{{end}}",
	}, nil)
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := d.Messages(Prompt{Vars: map[string]string{"a": a, "b": b}, Messages: []providers.Message{userMsg}})
		if err != nil {
			t.Fatal(err)
		}
		want := []providers.Message{
			{Role: providers.RoleSystem, Content: "Coach " + a + " toward " + b + "."},
			{Role: providers.RoleUser, Content: "[" + b + "|" + a + "]"},
			userMsg,
		}
		if !equalMessages(got, want) {
			t.Fatalf("messages =\n%+v\nwant\n%+v", got, want)
		}
	})
}
