package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parquet-go/parquet-go"
)

// jobRow is a row of the pipeline's job-market export, as Databricks
// writes it: strings, an integer, a double, a decimal, a date, an optional
// column and one the gateway does not read (a list).
type jobRow struct {
	OccupationCode string   `parquet:"occupation_code"`
	Region         string   `parquet:"region"`
	Title          string   `parquet:"title"`
	MedianSalary   int64    `parquet:"median_salary"`
	Growth         float64  `parquet:"growth_rate"`
	HourlyWage     int64    `parquet:"hourly_wage,decimal(2:10)"`
	Updated        int32    `parquet:"updated,date"`
	Remote         *bool    `parquet:"remote,optional"`
	Skills         []string `parquet:"skills,list"`
}

func jobRows() []jobRow {
	yes := true
	return []jobRow{
		{"15-1252", "US-CA", "Software Developers", 173780, 0.17, 8355, 20425, &yes, []string{"go", "sql"}},
		{"15-1252", "US-TX", "Software Developers", 124070, 0.21, 5965, 20425, nil, nil},
		{"29-1141", "US-CA", "Registered Nurses", 137690, 0.06, 6620, 20425, nil, []string{"care"}},
	}
}

// writeParquet writes rows as a Parquet file, in row groups of perGroup
// rows, with the library the gateway reads it with.
func writeParquet[T any](t *testing.T, rows []T, perGroup int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	for len(rows) > 0 {
		n := min(perGroup, len(rows))
		if _, err := w.Write(rows[:n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readParquetBytes(t *testing.T, b []byte, key ...string) (*Table, error) {
	t.Helper()
	return ReadParquetTable("job_market.parquet", bytes.NewReader(b), int64(len(b)), key)
}

func TestReadParquetTable(t *testing.T) {
	b := writeParquet(t, jobRows(), 2) // two row groups
	tbl, err := readParquetBytes(t, b, "occupation_code", "region")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Len() != 3 {
		t.Fatalf("%d records", tbl.Len())
	}
	rec, ok := tbl.Lookup("15-1252", "US-CA")
	if !ok {
		t.Fatal("no record for 15-1252/US-CA")
	}
	want := map[string]any{
		"occupation_code": "15-1252", "region": "US-CA", "title": "Software Developers",
		"median_salary": json.Number("173780"), "growth_rate": json.Number("0.17"),
		"hourly_wage": json.Number("83.55"), "updated": "2025-12-03", "remote": true,
	}
	if got, _ := json.Marshal(rec); string(got) != mustJSON(t, want) {
		t.Errorf("record %s\nwant %s", got, mustJSON(t, want))
	}
	if rec, _ := tbl.Lookup("15-1252", "US-TX"); rec["remote"] != nil {
		t.Errorf("a null optional column is in the record: %v", rec)
	}
	if err := tbl.CheckFields([]string{"title", "hourly_wage"}); err != nil {
		t.Errorf("CheckFields: %v", err)
	}
	for field, why := range map[string]string{"salary": "is not a column", "skills": "is a nested group"} {
		if err := tbl.CheckFields([]string{field}); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckFields(%s) = %v, want %q", field, err, why)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadParquetTableRefuses(t *testing.T) {
	dup := append(jobRows(), jobRows()[2])
	type noRegion struct {
		OccupationCode string `parquet:"occupation_code"`
	}
	type optionalKey struct {
		OccupationCode string  `parquet:"occupation_code"`
		Region         *string `parquet:"region,optional"`
	}
	ca := "US-CA"
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"not Parquet", []byte(jobMarketJSONL), "job_market.parquet: not a readable Parquet file"},
		{"truncated", writeParquet(t, jobRows(), 10)[:200], "job_market.parquet: not a readable Parquet file"},
		{"key column missing", writeParquet(t, []noRegion{{"15-1252"}}, 10), `job_market.parquet: key field "region" is not a column of the file`},
		{"key column unreadable", writeParquet(t, jobRows(), 10), `job_market.parquet: key field "skills" is a nested group`},
		{"duplicate key", writeParquet(t, dup, 2), `job_market.parquet: row 4: key "29-1141|US-CA" is already used by row 3`},
		{"null key", writeParquet(t, []optionalKey{{"15-1252", &ca}, {"15-1252", nil}}, 10), `job_market.parquet: row 2: key field "region" is missing or null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := []string{"occupation_code", "region"}
			if tc.name == "key column unreadable" {
				key = []string{"occupation_code", "skills"}
			}
			_, err := readParquetBytes(t, tc.file, key...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// fixture is the committed export, testdata/datasets/job_market.parquet;
// UPDATE_PARQUET_FIXTURE=1 writes it again from jobRows.
const fixture = "testdata/datasets/job_market.parquet"

func TestParquetFixture(t *testing.T) {
	if os.Getenv("UPDATE_PARQUET_FIXTURE") != "" {
		if err := os.WriteFile(fixture, writeParquet(t, jobRows(), 2), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	ab := strings.Replace(abWith(`,
      "enrichment": {"dataset": "job_market", "on_missing": "skip"}`,
		`, "system_template": "{{with .Record}}{{.title}} in {{.region}} earn {{.median_salary}} ({{.hourly_wage}}/h).{{end}}"`),
		`"job_market.jsonl"`, `"job_market.parquet"`, 1)
	fsys := fstest.MapFS{
		ProviderSettingsFile: {Data: []byte(goodProviders)},
		ABTestConfigFile:     {Data: []byte(ab)},
		"job_market.parquet": {Data: b},
	}
	cfg, err := LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := cfg.Routes.Datasets["job_market"].Table.Lookup("29-1141", "US-CA")
	if !ok || rec["title"] != "Registered Nurses" || rec["hourly_wage"] != json.Number("66.20") {
		t.Fatalf("record %v", rec)
	}

	// A template that reads a column the file does not have is refused
	// when the configuration loads, not when a request renders it.
	fsys[ABTestConfigFile] = &fstest.MapFile{Data: []byte(strings.Replace(ab, "{{.median_salary}}", "{{.median_pay}}", 1))}
	_, err = LoadFS(fsys)
	if want := `ab_test_config.json: $.routes.career_advice.variants[0].system_template: reads .Record from dataset "job_market" (job_market.parquet): field "median_pay" is not a column of the file`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}

	// The same from a real directory, read through random access.
	dir := t.TempDir()
	for name, f := range map[string][]byte{ProviderSettingsFile: []byte(goodProviders), ABTestConfigFile: []byte(ab), "job_market.parquet": b} {
		if err := os.WriteFile(filepath.Join(dir, name), f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
}

// TestParquetCountsTowardTheVersion: a changed Parquet dataset changes the
// configuration's version, so that a reload picks it up.
func TestParquetCountsTowardTheVersion(t *testing.T) {
	a := fstest.MapFS{ABTestConfigFile: {Data: []byte(`{}`)}, "job_market.parquet": {Data: writeParquet(t, jobRows(), 10)}}
	b := fstest.MapFS{ABTestConfigFile: {Data: []byte(`{}`)}, "job_market.parquet": {Data: writeParquet(t, jobRows()[:2], 10)}}
	va, errA := Version(a)
	vb, errB := Version(b)
	if errA != nil || errB != nil || va == vb {
		t.Fatalf("versions %q %v, %q %v: want two different ones", va, errA, vb, errB)
	}
}
