package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// pendingWrite is one file to replace in the directory.
type pendingWrite struct {
	name string
	data []byte
}

// writeFiles replaces the files of writes and removes those of removes in
// dir. Every new file is first staged in a hidden temporary file in dir
// and fsynced; only when all are staged are they renamed into place, so
// that a reader sees each file either old or new, never partly written,
// and nothing is changed when staging fails. Temporary files are removed
// on every path.
func writeFiles(dir string, writes []pendingWrite, removes []string) error {
	staged := make([]string, 0, len(writes))
	defer func() {
		for _, tmp := range staged {
			if tmp != "" {
				_ = os.Remove(tmp)
			}
		}
	}()
	for _, w := range writes {
		tmp, err := stage(dir, w)
		if err != nil {
			return err
		}
		staged = append(staged, tmp)
	}
	for i, w := range writes {
		if err := os.Rename(staged[i], filepath.Join(dir, w.name)); err != nil {
			return fmt.Errorf("remote: replacing %s: %w", w.name, err)
		}
		staged[i] = "" // renamed: nothing to clean up
	}
	for _, name := range removes {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remote: removing %s: %w", name, err)
		}
	}
	syncDir(dir)
	return nil
}

// stage writes w to a new temporary file in dir, fsynced, and returns its
// path.
func stage(dir string, w pendingWrite) (string, error) {
	f, err := os.CreateTemp(dir, "."+w.name+".sync-*")
	if err != nil {
		return "", fmt.Errorf("remote: staging %s: %w", w.name, err)
	}
	tmp := f.Name()
	fail := func(err error) (string, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return "", fmt.Errorf("remote: staging %s: %w", w.name, err)
	}
	if _, err := f.Write(w.data); err != nil {
		return fail(err)
	}
	// CreateTemp makes the file 0600; configuration is not secret (keys
	// are named by environment variable) and the gateway may run as
	// another user than the syncer.
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("remote: staging %s: %w", w.name, err)
	}
	return tmp, nil
}

// syncDir fsyncs dir so that the renames survive a crash. It is best
// effort: the files themselves are in place, and some platforms cannot
// fsync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
