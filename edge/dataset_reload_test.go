package edge_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
)

type occupation struct {
	Code  string `parquet:"occupation_code"`
	Title string `parquet:"title"`
}

func occupationsParquet(t *testing.T, rows ...occupation) string {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[occupation](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

const parquetRoutes = `{
  "datasets": {"jobs": {"path": "jobs.parquet", "key": ["occupation_code"]}},
  "routes": {"career_advice": {
    "enrichment": {"dataset": "jobs", "on_missing": "fail"},
    "variants": [{"name": "a", "provider": "openai", "model": "gpt-4o-mini", "weight": 1,
      "system_template": "Coach for {{.Record.title}}."}]}}}`

// TestParquetDatasetHotReload: a Parquet dataset is loaded with the
// configuration, a changed file is picked up by a reload, and a corrupt one
// is refused while the last good one keeps serving.
func TestParquetDatasetHotReload(t *testing.T) {
	g := startReloadGateway(t)
	reload := func() (int, string) {
		t.Helper()
		resp, err := http.Post("http://"+g.admin+"/admin/config/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	ask := func(code string) error {
		t.Helper()
		r := request("career_advice", "")
		r.Variables = map[string]string{"occupation_code": code}
		_, err := g.client.Complete(ctxT(t), r)
		return err
	}

	replace(t, g.dir, "jobs.parquet", occupationsParquet(t, occupation{"15-1252", "Software Developers"}))
	replace(t, g.dir, config.ABTestConfigFile, parquetRoutes)
	if code, body := reload(); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	if err := ask("15-1252"); err != nil {
		t.Fatalf("a key in the file: %v", err)
	}
	if err := ask("29-1141"); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a key not in the file: %v, want FailedPrecondition", err)
	}

	replace(t, g.dir, "jobs.parquet", occupationsParquet(t,
		occupation{"15-1252", "Software Developers"}, occupation{"29-1141", "Registered Nurses"}))
	if code, body := reload(); code != http.StatusOK {
		t.Fatalf("reload of a changed file: %d %s", code, body)
	}
	if err := ask("29-1141"); err != nil {
		t.Fatalf("a key added to the file: %v", err)
	}

	replace(t, g.dir, "jobs.parquet", "PAR1 not really parquet PAR1")
	if code, body := reload(); code != http.StatusUnprocessableEntity || !strings.Contains(body, "jobs.parquet") {
		t.Fatalf("reload of a corrupt file: %d %s", code, body)
	}
	if err := ask("29-1141"); err != nil {
		t.Fatalf("the last good file stopped serving: %v", err)
	}
}
