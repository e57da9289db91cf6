package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config/remote"
)

func TestRunPollsUntilCancelled(t *testing.T) {
	files := validFiles()
	st := newStore(t, maps.Clone(files))
	s, dir, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{Interval: 10 * time.Millisecond})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	waitFor(t, func() bool { return s.Status().Syncs >= 2 })

	files[abTests] = `{"routes": {"polled": {}}}`
	st.set(abTests, files[abTests])
	waitFor(t, func() bool { return s.Status().Files[1].Version.ETag == etag(files[abTests]) })
	wantDir(t, dir, files)

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	n := s.Status().Syncs
	time.Sleep(50 * time.Millisecond)
	if got := s.Status().Syncs; got != n {
		t.Errorf("syncs went on after Run returned: %d, then %d", n, got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSyncAfterClose(t *testing.T) {
	st := newStore(t, validFiles())
	src, err := remote.Open(t.Context(), st.url(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := remote.NewSyncer(src, t.TempDir(), remote.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.SyncOnce(t.Context()); !errors.Is(err, remote.ErrClosed) {
		t.Errorf("SyncOnce after Close = %v, want ErrClosed", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run on a closed Syncer did not return")
	}
}

func TestNewSyncerRejectsBadFiles(t *testing.T) {
	for _, files := range [][]remote.File{
		{{Name: "../escape.json"}},
		{{Name: "sub/dir.json"}},
		{{Name: ".hidden.json"}},
		{{Name: "a.json"}, {Name: "a.json", Optional: true}},
	} {
		src, err := remote.Open(t.Context(), "mem://", remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remote.NewSyncer(src, t.TempDir(), remote.SyncOptions{Files: files}); err == nil {
			t.Errorf("NewSyncer accepted files %+v", files)
		}
		_ = src.Close()
	}
}

func TestStatusJSON(t *testing.T) {
	st := newStore(t, validFiles())
	s, _, _ := newSyncer(t, st.url(), remote.Options{}, remote.SyncOptions{})
	syncOnce(t, s, true)
	b, err := json.Marshal(s.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"source":"http://127.0.0.1`, `"etag":"\"`, `"last_success":"`, `"name":"rate_limits.json","optional":true,"present":false`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON %s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "last_error") {
		t.Errorf("status JSON %s has an error after a successful sync", b)
	}
}
