package config

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"sort"
)

// versioned are the extensions of the files a configuration is made of:
// its JSON files and its datasets.
var versioned = map[string]bool{".json": true, ".jsonl": true, ".parquet": true}

// Version is the content hash of a configuration directory: the first 12
// hex digits of a SHA-256 over the name and bytes of every .json, .jsonl
// and .parquet file in it (symlinks followed), in name order. Two directories with the same files have the same version,
// so a reload that changes nothing is recognised as such.
func Version(fsys fs.FS) (string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	h := sha256.New()
	for _, e := range entries {
		name := e.Name()
		if name[0] == '.' || !versioned[path.Ext(name)] {
			continue
		}
		// Stat follows symlinks: a Kubernetes ConfigMap mounts every file
		// as a link into its ..data directory.
		if fi, err := fs.Stat(fsys, name); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", err
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
