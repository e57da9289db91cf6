package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/config/remote"
)

func TestMain(m *testing.M) {
	// Every test closes its syncers, sources and servers: no connection
	// or polling goroutine may outlive them.
	goleak.VerifyTestMain(m)
}

const (
	providers = "provider_settings.json"
	abTests   = "ab_test_config.json"
	limits    = "rate_limits.json"
)

// store is a config store served over HTTP under /cfg/, with ETags and
// Last-Modified, as GitHub raw or S3 serve files.
type store struct {
	srv *httptest.Server

	mu     sync.Mutex
	files  map[string]string
	status map[string]int // forced status per file
	auth   string         // required header value, if set
	header string         // header carrying auth (default Authorization)
	log    []request
}

// request is what the store saw of one request and how it answered.
type request struct {
	name, ifNoneMatch, ifModifiedSince string
	status                             int
}

var lastModified = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newStore(t *testing.T, files map[string]string) *store {
	t.Helper()
	s := &store{files: files, status: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func etag(body string) string {
	sum := sha256.Sum256([]byte(body))
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func (s *store) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, _ := strings.CutPrefix(r.URL.Path, "/cfg/")
	rq := request{name: name, ifNoneMatch: r.Header.Get("If-None-Match"), ifModifiedSince: r.Header.Get("If-Modified-Since")}
	defer func() { s.log = append(s.log, rq) }()
	header := s.header
	if header == "" {
		header = "Authorization"
	}
	body, ok := s.files[name]
	switch {
	case s.auth != "" && r.Header.Get(header) != s.auth:
		rq.status = http.StatusUnauthorized
	case s.status[name] != 0:
		rq.status = s.status[name]
	case !ok:
		rq.status = http.StatusNotFound
	case rq.ifNoneMatch == etag(body):
		rq.status = http.StatusNotModified
	default:
		rq.status = http.StatusOK
		w.Header().Set("ETag", etag(body))
		w.Header().Set("Last-Modified", lastModified.Format(http.TimeFormat))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(body))
		return
	}
	http.Error(w, http.StatusText(rq.status), rq.status)
}

func (s *store) url() string { return s.srv.URL + "/cfg/" }

func (s *store) set(name, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = body
}

func (s *store) del(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, name)
}

func (s *store) force(name string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[name] = status
}

// takeLog returns and clears the requests seen.
func (s *store) takeLog() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.log
	s.log = nil
	return l
}

func validFiles() map[string]string {
	return map[string]string{
		providers: `{"providers": {"sim": {"kind": "sim"}}, "models": []}`,
		abTests:   `{"routes": {}}`,
	}
}

// newSyncer opens rawURL and returns a syncer into a fresh directory,
// closed at the end of the test, and a buffer holding its log.
func newSyncer(t *testing.T, rawURL string, opts remote.Options, sopts remote.SyncOptions) (*remote.Syncer, string, *bytes.Buffer) {
	t.Helper()
	src, err := remote.Open(t.Context(), rawURL, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return syncerFor(t, src, sopts)
}

func syncerFor(t *testing.T, src remote.Source, sopts remote.SyncOptions) (*remote.Syncer, string, *bytes.Buffer) {
	t.Helper()
	buf := &bytes.Buffer{}
	sopts.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := filepath.Join(t.TempDir(), "config")
	s, err := remote.NewSyncer(src, dir, sopts)
	if err != nil {
		_ = src.Close()
		t.Fatalf("NewSyncer: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, dir, buf
}

func syncOnce(t *testing.T, s *remote.Syncer, wantChanged bool) {
	t.Helper()
	changed, err := s.SyncOnce(context.Background())
	if err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	if changed != wantChanged {
		t.Fatalf("SyncOnce changed = %v, want %v", changed, wantChanged)
	}
}

// syncFails runs a sync that must fail with an error mentioning wantIn.
func syncFails(t *testing.T, s *remote.Syncer, wantIn string) {
	t.Helper()
	_ = failedSync(t, s, wantIn)
}

// failedSync is syncFails returning the error.
func failedSync(t *testing.T, s *remote.Syncer, wantIn string) error {
	t.Helper()
	changed, err := s.SyncOnce(context.Background())
	if err == nil {
		t.Fatal("SyncOnce succeeded, want an error")
	}
	if changed {
		t.Error("SyncOnce reported a change along with its error")
	}
	if !strings.Contains(err.Error(), wantIn) {
		t.Errorf("SyncOnce error %q does not mention %q", err, wantIn)
	}
	return err
}

// readDir returns the directory's files by name, and fails on any
// leftover temporary file.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = string(b)
	}
	return got
}

func wantDir(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := readDir(t, dir)
	for name, body := range want {
		if got[name] != body {
			t.Errorf("%s = %q, want %q", name, got[name], body)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s in the directory", name)
		}
	}
}
