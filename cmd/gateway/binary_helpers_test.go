package main

import (
	"os"
	"path/filepath"
	"testing"
)

// writeConfig writes files (name to body) into a new temporary directory
// and returns it.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		writeConfigFile(t, dir, name, body)
	}
	return dir
}

// writeConfigFile writes one file of a configuration directory.
func writeConfigFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
