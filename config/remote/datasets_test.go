package remote_test

import (
	"maps"
	"slices"
	"testing"

	"gocloud.dev/blob"

	"github.com/careerpath/llmgateway/config/remote"
)

// abWithDatasets is an ab_test_config.json declaring datasets at paths.
func abWithDatasets(paths ...string) string {
	s := `{"routes": {}, "datasets": {`
	for i, p := range paths {
		if i > 0 {
			s += ", "
		}
		s += `"d` + string(rune('a'+i)) + `": {"path": "` + p + `", "key": ["k"]}`
	}
	return s + `}}`
}

// parquetBytes stands for a Parquet file: binary, not JSON.
const parquetBytes = "PAR1\x15\x00\x15\x1c\x00\xffbinary\x00PAR1"

// TestHTTPSyncsDeclaredDatasets: the datasets ab_test_config.json declares
// are fetched from the store with it, validated with it as one set,
// written with it, and removed when no longer declared; a declared
// dataset the store lacks refuses the whole set.
func TestHTTPSyncsDeclaredDatasets(t *testing.T) {
	files := validFiles()
	files[abTests] = abWithDatasets("job_market.jsonl", "salaries.parquet")
	files["job_market.jsonl"] = `{"k": "1", "title": "Nurse"}` + "\n"
	files["salaries.parquet"] = parquetBytes
	st := newStore(t, maps.Clone(files))
	var validated []string
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{
		Validate: func(set map[string][]byte) error {
			validated = slices.Sorted(maps.Keys(set))
			return nil
		},
	})

	syncOnce(t, s, true)
	wantDir(t, dir, files)
	if want := []string{abTests, "job_market.jsonl", providers, "salaries.parquet"}; !slices.Equal(validated, want) {
		t.Errorf("validated %v, want %v", validated, want)
	}
	st.takeLog()
	syncOnce(t, s, false)
	for _, r := range st.takeLog() {
		if r.name == "salaries.parquet" && r.ifNoneMatch == "" {
			t.Errorf("an unchanged dataset was fetched unconditionally: %+v", r)
		}
	}

	// A dataset changes: rewritten.
	files["job_market.jsonl"] = `{"k": "1", "title": "Registered Nurse"}` + "\n"
	st.set("job_market.jsonl", files["job_market.jsonl"])
	syncOnce(t, s, true)
	wantDir(t, dir, files)

	// The configuration names a dataset the store does not have: nothing
	// of the new set is applied.
	st.set(abTests, abWithDatasets("job_market.jsonl", "salaries.parquet", "growth.parquet"))
	syncFails(t, s, "growth.parquet")
	wantDir(t, dir, files)

	// A dataset is no longer declared: its file leaves the directory with
	// the configuration that dropped it.
	files[abTests] = abWithDatasets("job_market.jsonl")
	delete(files, "salaries.parquet")
	st.set(abTests, files[abTests])
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	names := map[string]bool{}
	for _, f := range s.Status().Files {
		names[f.Name] = true
	}
	if !names["job_market.jsonl"] || names["salaries.parquet"] {
		t.Errorf("status files %v", s.Status().Files)
	}
}

// TestBucketSyncsEverythingUnderThePrefix: a bucket source lists its
// prefix, so every file under it is synced, and one deleted from the
// bucket leaves the directory.
func TestBucketSyncsEverythingUnderThePrefix(t *testing.T) {
	ctx := t.Context()
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	files := validFiles()
	files["clients.json"] = `{"clients": []}`
	files["regions.parquet"] = parquetBytes
	all := maps.Clone(files)
	all["archive/old.jsonl"] = "{}\n" // deeper: not synced
	for name, body := range all {
		if err := b.WriteAll(ctx, name, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	s, dir, _ := syncerFor(t, remote.NewBucketSource(b, "mem://test", remote.Options{}), remote.SyncOptions{})
	syncOnce(t, s, true)
	wantDir(t, dir, files)

	if err := b.Delete(ctx, "regions.parquet"); err != nil {
		t.Fatal(err)
	}
	delete(files, "regions.parquet")
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	syncOnce(t, s, false)
}
