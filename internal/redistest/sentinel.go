package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StartSentinel starts a Redis Sentinel for t that monitors the master at
// masterAddr under name, and returns the sentinel's address. It is stopped
// when t ends.
func StartSentinel(t testing.TB, masterAddr, name string) string {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		bin = "redis-server"
	}
	bin, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("redistest: redis-server is not installed (%v): `make test` (or `make system-deps`) installs it", err)
	}
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		t.Fatalf("redistest: master address %q: %v", masterAddr, err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), extra: []string{"--sentinel"}}
	t.Cleanup(s.stop)
	// Sentinel rewrites its configuration file, so it gets one of its own.
	s.conf = filepath.Join(s.dir, "sentinel.conf")
	conf := fmt.Sprintf("sentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 5000\n", name, host, port, name)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	var lastErr error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		if lastErr = s.start(); lastErr == nil {
			return s.Addr()
		}
	}
	t.Fatalf("redistest: sentinel: %v", lastErr)
	return ""
}
