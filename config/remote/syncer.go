package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultInterval is the polling interval when [SyncOptions.Interval] is
// zero.
const DefaultInterval = 30 * time.Second

// ErrClosed is returned by [Syncer.SyncOnce] after [Syncer.Close].
var ErrClosed = errors.New("remote: syncer closed")

// File is one file that a [Syncer] keeps in sync.
type File struct {
	// Name is the file's name in the store and in the directory; a plain
	// name, not a path.
	Name string
	// Optional files may be missing from the store; one that is is
	// removed from the directory.
	Optional bool
}

// DefaultFiles are the gateway's configuration files: provider_settings.json
// and ab_test_config.json, required, and rate_limits.json, optional.
func DefaultFiles() []File {
	return []File{
		{Name: "provider_settings.json"},
		{Name: "ab_test_config.json"},
		{Name: "rate_limits.json", Optional: true},
	}
}

// SyncOptions configure a [Syncer].
type SyncOptions struct {
	// Files are the files to keep in sync (default [DefaultFiles]). Every
	// sync adds the dataset files that the fetched ab_test_config.json
	// declares and, when the source is a [Lister], every other file under
	// its prefix: the set is the whole configuration, written together.
	// A file the Syncer brought in and the store no longer holds is
	// removed from the directory.
	Files []File
	// Interval is the time between two polls of [Syncer.Run] (default
	// [DefaultInterval]); each wait is jittered by up to ±10%.
	Interval time.Duration
	// Validate, when set, is called with the complete set of files a sync
	// would leave in the directory (optional files that are missing left
	// out) after they were all fetched and found to be JSON, and only when
	// something changed. An error refuses the whole set, as a fetch error
	// does. The gateway can decode and validate its configuration here,
	// so that a semantically invalid set never reaches the directory.
	Validate func(files map[string][]byte) error
	// Logger receives one line per change or failure; nil discards.
	Logger *slog.Logger
}

// Syncer keeps a directory in sync with a [Source]. Its methods may be
// called from several goroutines; syncs run one at a time.
type Syncer struct {
	src      Source
	dir      string
	files    []File
	interval time.Duration
	validate func(map[string][]byte) error
	log      *slog.Logger

	syncMu sync.Mutex // serialises syncs and Close
	closed bool
	known  map[string]applied // guarded by syncMu

	mu     sync.Mutex // guards status
	status Status
}

// applied is what the Syncer knows of one file it has fetched.
type applied struct {
	version Version
	sum     [sha256.Size]byte // of the bytes in the directory
	present bool              // false: an optional file missing from the store
}

// NewSyncer returns a Syncer that keeps dir in sync with src, creating dir
// if it does not exist. The Syncer takes ownership of src: [Syncer.Close]
// closes it.
func NewSyncer(src Source, dir string, opts SyncOptions) (*Syncer, error) {
	if src == nil {
		return nil, errors.New("remote: nil source")
	}
	if dir == "" {
		return nil, errors.New("remote: empty config directory")
	}
	files := opts.Files
	if len(files) == 0 {
		files = DefaultFiles()
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if !plainName(f.Name) {
			return nil, fmt.Errorf("remote: invalid file name %q: want a plain name such as provider_settings.json", f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("remote: file %q listed twice", f.Name)
		}
		seen[f.Name] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("remote: creating config directory: %w", err)
	}
	interval := opts.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Syncer{
		src:      src,
		dir:      dir,
		files:    append([]File(nil), files...),
		interval: interval,
		validate: opts.Validate,
		log:      log.With("component", "config_sync", "source", src.String()),
		known:    make(map[string]applied, len(files)),
	}
	s.status = Status{Source: src.String(), Dir: dir, Files: make([]FileStatus, len(files))}
	for i, f := range files {
		s.status.Files[i] = FileStatus{Name: f.Name, Optional: f.Optional}
	}
	return s, nil
}

// Run syncs at once and then every interval, jittered, until ctx is done
// or the Syncer is closed. Failures are logged and kept in [Syncer.Status]; the directory keeps its
// last good files.
func (s *Syncer) Run(ctx context.Context) {
	for {
		if _, err := s.SyncOnce(ctx); errors.Is(err, ErrClosed) {
			return
		}
		t := time.NewTimer(s.jittered())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// jittered returns the interval give or take up to 10%.
func (s *Syncer) jittered() time.Duration {
	spread := int64(s.interval / 5)
	if spread <= 0 {
		return s.interval
	}
	return s.interval - time.Duration(spread/2) + time.Duration(rand.Int64N(spread+1))
}

// fetched is one file of a sync in progress.
type fetched struct {
	file    File
	data    []byte // the new content, or the directory's when unchanged
	version Version
	present bool // the store has the file
	write   bool // data differs from the directory's copy
	remove  bool // missing optional file still in the directory
}

// SyncOnce fetches every file and, if all of them could be fetched and are
// valid, writes those that changed into the directory. It reports whether
// the directory changed. On error the directory is left as it was.
func (s *Syncer) SyncOnce(ctx context.Context) (changed bool, err error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	start := time.Now()
	set, err := s.fetchAll(ctx)
	if err == nil {
		changed, err = s.apply(set)
	}
	s.record(start, set, changed, err)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("config sync failed; keeping the last good files", "error", err.Error())
	case changed:
		s.log.Info("config synced", "changed", changedNames(set), "duration", time.Since(start))
	}
	return changed, err
}

// fetchAll fetches every file: the configured ones, the datasets that
// the fetched ab_test_config.json declares and, from a [Lister], every
// other file under the prefix. It compares each with the directory's copy
// and checks that .json files are JSON. A file brought in by an earlier
// sync that is no longer part of the set is marked for removal. It
// returns every failure, joined.
func (s *Syncer) fetchAll(ctx context.Context) ([]fetched, error) {
	set, err := s.fetchFiles(ctx, s.files)
	if err != nil {
		return set, err
	}
	seen := make(map[string]bool, len(set))
	for _, f := range s.files {
		seen[f.Name] = true
	}
	var extra []File
	add := func(name string, optional bool) {
		if !seen[name] && plainName(name) {
			seen[name] = true
			extra = append(extra, File{Name: name, Optional: optional})
		}
	}
	for _, f := range set {
		if f.file.Name == abTestConfigFile && f.present {
			for _, p := range datasetPaths(f.data) {
				add(p, false)
			}
		}
	}
	if l, ok := s.src.(Lister); ok {
		names, err := l.List(ctx)
		if err != nil {
			return set, err
		}
		for _, n := range names {
			add(n, true) // it may go between the listing and the fetch
		}
	}
	more, err := s.fetchFiles(ctx, extra)
	set = append(set, more...)
	if err != nil {
		return set, err
	}
	for name, k := range s.known {
		if !seen[name] && k.present {
			_, statErr := os.Stat(filepath.Join(s.dir, name))
			set = append(set, fetched{file: File{Name: name, Optional: true}, remove: statErr == nil})
		}
	}
	return set, nil
}

// abTestConfigFile names the file whose datasets are synced with it.
const abTestConfigFile = "ab_test_config.json"

// datasetPaths returns the dataset file names ab_test_config.json
// declares ($.datasets.*.path); nothing when it does not parse, which
// validation reports.
func datasetPaths(abTestConfig []byte) []string {
	var doc struct {
		Datasets map[string]struct {
			Path string `json:"path"`
		} `json:"datasets"`
	}
	if json.Unmarshal(abTestConfig, &doc) != nil {
		return nil
	}
	var paths []string
	for _, d := range doc.Datasets {
		if d.Path != "" {
			paths = append(paths, d.Path)
		}
	}
	slices.Sort(paths)
	return paths
}

// plainName reports whether name is a plain file name: no directory, not
// hidden (the Syncer's own temporary files are).
func plainName(name string) bool {
	return name != "" && name == filepath.Base(name) && filepath.IsLocal(name) &&
		!strings.ContainsAny(name, `/\`) && !strings.HasPrefix(name, ".")
}

// fetchFiles fetches files as [Syncer.fetchAll] describes.
func (s *Syncer) fetchFiles(ctx context.Context, files []File) ([]fetched, error) {
	set := make([]fetched, 0, len(files))
	var errs []error
	for _, f := range files {
		onDisk, diskErr := os.ReadFile(filepath.Join(s.dir, f.Name))
		inDir := diskErr == nil
		if diskErr != nil && !errors.Is(diskErr, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remote: %s: reading the directory's copy: %w", f.Name, diskErr))
			continue
		}
		// Ask for changes since the version applied, unless the
		// directory's copy is no longer the one applied (edited or
		// deleted by hand): then fetch it whole.
		var have Version
		if k, ok := s.known[f.Name]; ok && k.present && inDir && k.sum == sha256.Sum256(onDisk) {
			have = k.version
		}
		res, err := s.src.Fetch(ctx, f.Name, have)
		switch {
		case errors.Is(err, ErrNotFound) && f.Optional:
			set = append(set, fetched{file: f, remove: inDir})
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
			continue
		case res.NotModified:
			set = append(set, fetched{file: f, data: onDisk, version: res.Version, present: true})
			continue
		}
		if filepath.Ext(f.Name) == ".json" && !json.Valid(res.Data) {
			errs = append(errs, fmt.Errorf("remote: %s from %s (%s) is not valid JSON; not applied",
				f.Name, s.src, describe(res.Version)))
			continue
		}
		set = append(set, fetched{
			file:    f,
			data:    res.Data,
			version: res.Version,
			present: true,
			write:   !inDir || !bytes.Equal(onDisk, res.Data),
		})
	}
	return set, errors.Join(errs...)
}

// apply validates the fetched set and writes the files that changed.
func (s *Syncer) apply(set []fetched) (bool, error) {
	changed := false
	for _, f := range set {
		changed = changed || f.write || f.remove
	}
	if !changed {
		return false, nil
	}
	if s.validate != nil {
		all := make(map[string][]byte, len(set))
		for _, f := range set {
			if f.present {
				all[f.file.Name] = f.data
			}
		}
		if err := s.validate(all); err != nil {
			return false, fmt.Errorf("remote: fetched configuration refused: %w", err)
		}
	}
	var writes []pendingWrite
	var removes []string
	for _, f := range set {
		switch {
		case f.write:
			writes = append(writes, pendingWrite{name: f.file.Name, data: f.data})
		case f.remove:
			removes = append(removes, f.file.Name)
		}
	}
	if err := writeFiles(s.dir, writes, removes); err != nil {
		return false, err
	}
	return true, nil
}

// record updates what the Syncer knows and its status after a sync.
func (s *Syncer) record(start time.Time, set []fetched, changed bool, err error) {
	now := time.Now()
	if err == nil {
		for _, f := range set {
			if !f.present && !s.configured(f.file.Name) {
				delete(s.known, f.file.Name)
				continue
			}
			s.known[f.file.Name] = applied{version: f.version, sum: sha256.Sum256(f.data), present: f.present}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	st.LastAttempt = start
	st.Syncs++
	if err != nil {
		st.LastError = err.Error()
		st.LastErrorTime = now
		st.ConsecutiveFailures++
		return
	}
	st.LastError = ""
	st.ConsecutiveFailures = 0
	st.LastSuccess = now
	if changed {
		st.LastChange = now
	}
	for _, f := range set {
		i := slices.IndexFunc(st.Files, func(fs FileStatus) bool { return fs.Name == f.file.Name })
		switch {
		case i < 0 && f.present:
			st.Files = append(st.Files, FileStatus{Name: f.file.Name})
		case i >= 0 && !f.present && !s.configured(f.file.Name):
			st.Files = slices.Delete(st.Files, i, i+1)
		}
		for i := range st.Files {
			fst := &st.Files[i]
			if fst.Name != f.file.Name {
				continue
			}
			fst.Version, fst.Present, fst.Size, fst.SHA256 = f.version, f.present, 0, ""
			if f.present {
				sum := sha256.Sum256(f.data)
				fst.Size, fst.SHA256 = len(f.data), hex.EncodeToString(sum[:])
			}
			if f.write || f.remove {
				fst.Updated = now
			}
		}
	}
}

// configured reports whether name is one of the files the Syncer was
// given (as opposed to one it found).
func (s *Syncer) configured(name string) bool {
	return slices.ContainsFunc(s.files, func(f File) bool { return f.Name == name })
}

// Close releases the source (a bucket, idle connections). A sync in
// progress finishes first; later syncs fail with [ErrClosed].
func (s *Syncer) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.src.Close()
}

func changedNames(set []fetched) []string {
	var names []string
	for _, f := range set {
		if f.write || f.remove {
			names = append(names, f.file.Name)
		}
	}
	return names
}

func describe(v Version) string {
	switch {
	case v.ETag != "":
		return "etag " + v.ETag
	case v.LastModified != "":
		return "modified " + v.LastModified
	}
	return "no version"
}

var _ io.Closer = (*Syncer)(nil)
