package remote_test

import (
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/config/remote"
)

func TestHTTPConditionalSync(t *testing.T) {
	files := validFiles()
	st := newStore(t, maps.Clone(files))
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{})

	// First sync: everything is fetched; the optional file is missing.
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	for _, r := range st.takeLog() {
		if r.ifNoneMatch != "" || r.ifModifiedSince != "" {
			t.Errorf("first GET of %s was conditional: %+v", r.name, r)
		}
	}
	before, err := os.Stat(filepath.Join(dir, providers))
	if err != nil {
		t.Fatal(err)
	}

	// Nothing changed: 304 for both files, directory untouched.
	syncOnce(t, s, false)
	log := st.takeLog()
	for _, r := range log {
		switch r.name {
		case providers, abTests:
			if r.status != http.StatusNotModified || r.ifNoneMatch != etag(files[r.name]) || r.ifModifiedSince == "" {
				t.Errorf("second GET of %s: %+v, want a conditional GET answered 304", r.name, r)
			}
		case limits:
			if r.status != http.StatusNotFound {
				t.Errorf("GET %s: %+v, want 404", r.name, r)
			}
		}
	}
	if len(log) != 3 {
		t.Errorf("second sync made %d requests, want 3: %+v", len(log), log)
	}

	// One file changes: only it is rewritten.
	files[abTests] = `{"routes": {"advice": {"variants": []}}}`
	st.set(abTests, files[abTests])
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	after, err := os.Stat(filepath.Join(dir, providers))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Errorf("unchanged %s was rewritten", providers)
	}

	// The optional file appears, then goes away again.
	files[limits] = `{"keys": {}}`
	st.set(limits, files[limits])
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	delete(files, limits)
	st.del(limits)
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	syncOnce(t, s, false)

	stat := s.Status()
	if stat.LastError != "" || stat.LastSuccess.IsZero() || stat.LastChange.IsZero() || stat.Syncs != 6 {
		t.Errorf("Status = %+v", stat)
	}
	for _, f := range stat.Files {
		switch f.Name {
		case providers, abTests:
			if !f.Present || f.Version.ETag != etag(files[f.Name]) || f.Size != len(files[f.Name]) {
				t.Errorf("status of %s = %+v", f.Name, f)
			}
		case limits:
			if f.Present || !f.Optional || f.Version.ETag != "" {
				t.Errorf("status of %s = %+v", f.Name, f)
			}
		default:
			t.Errorf("status of unexpected file %s", f.Name)
		}
	}
}

func TestHTTPServerErrorKeepsLastGoodFiles(t *testing.T) {
	files := validFiles()
	st := newStore(t, maps.Clone(files))
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{})
	syncOnce(t, s, true)

	// A valid change to one file and a 500 on another: nothing is written.
	st.set(abTests, `{"routes": {"changed": {}}}`)
	st.force(providers, http.StatusInternalServerError)
	syncFails(t, s, "500")
	wantDir(t, dir, files)
	if got := s.Status(); got.ConsecutiveFailures != 1 || !strings.Contains(got.LastError, "500") ||
		got.Files[1].Version.ETag != etag(files[abTests]) {
		t.Errorf("Status after a failure = %+v", got)
	}

	// The store recovers: the change is applied.
	st.force(providers, 0)
	syncOnce(t, s, true)
	files[abTests] = `{"routes": {"changed": {}}}`
	wantDir(t, dir, files)
	if got := s.Status(); got.ConsecutiveFailures != 0 || got.LastError != "" || got.LastErrorTime.IsZero() {
		t.Errorf("Status after recovery = %+v", got)
	}
}

func TestHTTPRequiredFileMissing(t *testing.T) {
	st := newStore(t, map[string]string{abTests: `{"routes": {}}`})
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{})
	err := failedSync(t, s, providers)
	if !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("error %v does not wrap ErrNotFound", err)
	}
	wantDir(t, dir, map[string]string{})
}

func TestMalformedJSONNotWritten(t *testing.T) {
	files := validFiles()
	st := newStore(t, maps.Clone(files))
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{})
	syncOnce(t, s, true)

	st.set(providers, `{"providers": {"sim": `)
	st.set(abTests, `{"routes": {"valid_but_held_back": {}}}`)
	syncFails(t, s, "not valid JSON")
	wantDir(t, dir, files)

	// Refused files are fetched again, not assumed applied.
	st.set(providers, files[providers])
	syncOnce(t, s, true)
	files[abTests] = `{"routes": {"valid_but_held_back": {}}}`
	wantDir(t, dir, files)
}

func TestValidateRefusesSet(t *testing.T) {
	files := validFiles()
	st := newStore(t, maps.Clone(files))
	var seen map[string][]byte
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{
		Validate: func(set map[string][]byte) error {
			seen = set
			if strings.Contains(string(set[abTests]), "bad") {
				return errors.New("ab_test_config.json: $.routes.bad: no variants")
			}
			return nil
		},
	})
	syncOnce(t, s, true)
	if len(seen) != 2 || string(seen[providers]) != files[providers] {
		t.Errorf("Validate saw %q", seen)
	}
	st.set(abTests, `{"routes": {"bad": {}}}`)
	syncFails(t, s, "no variants")
	wantDir(t, dir, files)
}

func TestHandEditedFileRestored(t *testing.T) {
	files := validFiles()
	st := newStore(t, maps.Clone(files))
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{})
	syncOnce(t, s, true)
	if err := os.WriteFile(filepath.Join(dir, providers), []byte(`{"edited": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, abTests)); err != nil {
		t.Fatal(err)
	}
	st.takeLog()
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	for _, r := range st.takeLog() {
		if r.name != limits && r.status != http.StatusOK {
			t.Errorf("GET %s answered %d, want a full fetch", r.name, r.status)
		}
	}
}

func TestAuthSecretNeverShown(t *testing.T) {
	const token = "ghp_s3cr3tT0ken"
	const sig = "X-Amz-Signature=deadbeefsecret"
	t.Setenv("LLMGW_TEST_CONFIG_TOKEN", token)
	st := newStore(t, validFiles())
	st.auth = "Bearer " + token
	s, dir, logs := newSyncer(t, st.url()+"?"+sig, remote.Options{AuthEnv: "LLMGW_TEST_CONFIG_TOKEN"}, remote.SyncOptions{})
	syncOnce(t, s, true)
	wantDir(t, dir, validFiles())

	st.force(abTests, http.StatusForbidden)
	err := failedSync(t, s, "403")
	st.force(abTests, 0)
	st.auth = "Bearer something-else"
	err2 := failedSync(t, s, "401")

	status := s.Status()
	shown := strings.Join([]string{err.Error(), err2.Error(), logs.String(), status.Source, status.LastError}, "\n")
	for _, secret := range []string{token, sig, "deadbeef"} {
		if strings.Contains(shown, secret) {
			t.Errorf("secret %q shown:\n%s", secret, shown)
		}
	}
	if !strings.Contains(logs.String(), "config sync failed") {
		t.Errorf("failure not logged:\n%s", logs)
	}
}

func TestAuthCustomHeaderSentAsIs(t *testing.T) {
	t.Setenv("LLMGW_TEST_GITLAB_TOKEN", "glpat-abc")
	st := newStore(t, validFiles())
	st.header, st.auth = "PRIVATE-TOKEN", "glpat-abc"
	s, _, _ := newSyncer(t, st.url(), remote.Options{AuthEnv: "LLMGW_TEST_GITLAB_TOKEN", AuthHeader: "PRIVATE-TOKEN"}, remote.SyncOptions{})
	syncOnce(t, s, true)
}

func TestAuthEnvUnset(t *testing.T) {
	t.Setenv("LLMGW_TEST_EMPTY_TOKEN", "")
	_, err := remote.Open(t.Context(), "https://example.com/cfg/", remote.Options{AuthEnv: "LLMGW_TEST_EMPTY_TOKEN"})
	if err == nil || !strings.Contains(err.Error(), "LLMGW_TEST_EMPTY_TOKEN") {
		t.Fatalf("Open with an empty credential variable: %v", err)
	}
}

func TestHTTPFileTooLarge(t *testing.T) {
	files := validFiles()
	files[providers] = `{"padding": "` + strings.Repeat("x", 100) + `"}`
	st := newStore(t, files)
	s, dir, _ := newSyncer(t, st.url(), remote.Options{MaxFileSize: 64}, remote.SyncOptions{})
	syncFails(t, s, "limit")
	wantDir(t, dir, map[string]string{})
}

func TestOpenRejects(t *testing.T) {
	for _, u := range []string{"", "ftp://example.com/cfg/", "azblob://container", "config/dir", "https:///nohost", "http://[::1"} {
		src, err := remote.Open(t.Context(), u, remote.Options{})
		if err == nil {
			_ = src.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		t.Logf("Open(%q): %v", u, err)
	}
	_, err := remote.Open(t.Context(), "ftp://user:pw@example.com/", remote.Options{})
	if err == nil || !strings.Contains(err.Error(), `"ftp"`) || strings.Contains(err.Error(), "pw") {
		t.Errorf("Open(ftp://…) error = %v, want it to name the scheme and not the password", err)
	}
}
