package remote_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/careerpath/llmgateway/config/remote"
)

func TestFileBucket(t *testing.T) {
	bucketDir := t.TempDir()
	files := validFiles()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(bucketDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, dir, _ := newSyncer(t, "file://"+filepath.ToSlash(bucketDir), remote.Options{}, remote.SyncOptions{})
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	syncOnce(t, s, false)

	// An operator edits a file in the store (a different size, so that
	// the modification-time ETag changes even on a coarse clock).
	files[abTests] = `{"routes": {"file_change": {}}}`
	if err := os.WriteFile(filepath.Join(bucketDir, abTests), []byte(files[abTests]), 0o644); err != nil {
		t.Fatal(err)
	}
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	if v := s.Status().Files[1].Version; v.ETag == "" || v.LastModified == "" {
		t.Errorf("bucket version of %s = %+v", abTests, v)
	}
}

func TestMemBucket(t *testing.T) {
	ctx := t.Context()
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	files := validFiles()
	for name, body := range files {
		if err := b.WriteAll(ctx, name, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	s, dir, _ := syncerFor(t, remote.NewBucketSource(b, "mem://test", remote.Options{}), remote.SyncOptions{})
	syncOnce(t, s, true)
	wantDir(t, dir, files)
	syncOnce(t, s, false)

	files[providers] = `{"providers": {}, "models": [], "changed": 1}`
	files[limits] = `{}`
	for _, name := range []string{providers, limits} {
		if err := b.WriteAll(ctx, name, []byte(files[name]), nil); err != nil {
			t.Fatal(err)
		}
	}
	syncOnce(t, s, true)
	wantDir(t, dir, files)

	// Malformed content in the bucket is refused like any other.
	if err := b.WriteAll(ctx, abTests, []byte(`not json`), nil); err != nil {
		t.Fatal(err)
	}
	syncFails(t, s, "not valid JSON")
	wantDir(t, dir, files)
}

func TestOpenMemBucketURL(t *testing.T) {
	// Open("mem://") gives a new, empty bucket: required files are missing.
	s, dir, _ := newSyncer(t, "mem://", remote.Options{}, remote.SyncOptions{})
	err := failedSync(t, s, providers)
	if !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("error %v does not wrap ErrNotFound", err)
	}
	wantDir(t, dir, map[string]string{})
	if got := s.Status().Source; got != "mem://" {
		t.Errorf("Status().Source = %q", got)
	}
}

func TestBucketFileTooLarge(t *testing.T) {
	ctx := t.Context()
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	files := maps.Clone(validFiles())
	files[providers] = `["` + strings.Repeat("x", 100) + `"]`
	for name, body := range files {
		if err := b.WriteAll(ctx, name, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	s, _, _ := syncerFor(t, remote.NewBucketSource(b, "mem://test", remote.Options{MaxFileSize: 64}), remote.SyncOptions{})
	syncFails(t, s, "limit")
}
