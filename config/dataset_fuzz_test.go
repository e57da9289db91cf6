package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func FuzzReadTable(f *testing.F) {
	f.Add(jobMarketJSONL)
	f.Add("{\"occupation_code\": 1, \"region\": \"r\"}\n{\"occupation_code\": \"1\", \"region\": \"r\"}")
	f.Add("{}\n[]\nnull\n{\"occupation_code\": \"a|b\"}")
	f.Fuzz(func(t *testing.T, body string) {
		key := []string{"occupation_code", "region"}
		tab, err := ReadTable("f.jsonl", strings.NewReader(body), key)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.jsonl: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, rec := range tab.records {
			if _, ok := rec["occupation_code"]; !ok {
				t.Fatalf("indexed a record without its key: %v", rec)
			}
		}
	})
}

func FuzzParsePromptTemplate(f *testing.F) {
	for _, s := range []string{
		"{{.Vars.a}}", "{{with .Record}}{{.x}}{{end}}", `{{define "a"}}{{template "a" .}}{{end}}{{template "a" .}}`,
		"{{range $i, $v := .Vars}}{{$.Record.x}}{{end}}", "{{if .Record}}{{else if .Vars}}{{.Vars.b}}{{end}}",
		"{{(.Vars).a}} {{.Vars.a.b}} {{$x := .Record}}{{$x.y}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = ParsePromptTemplate("t", text) // must not panic or loop
	})
}

func FuzzReadParquetTable(f *testing.F) {
	seed, err := os.ReadFile(fixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := ReadParquetTable("f.parquet", bytes.NewReader(b), int64(len(b)), []string{"occupation_code", "region"})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.parquet: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, rec := range tab.records {
			if _, ok := rec["occupation_code"]; !ok {
				t.Fatalf("indexed a record without its key: %v", rec)
			}
		}
	})
}
