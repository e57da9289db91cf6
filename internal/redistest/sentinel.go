package redistest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// StartSentinel starts a Redis Sentinel for t that monitors the master at
// masterAddr under name, and returns the sentinel's address. It is stopped
// when t ends.
func StartSentinel(t testing.TB, masterAddr, name string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		t.Fatalf("redistest: master address %q: %v", masterAddr, err)
	}
	conf := fmt.Sprintf("sentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 5000\n", name, host, port, name)
	return launch(t, func(s *Server) {
		s.extra = []string{"--sentinel"}
		// Sentinel rewrites its configuration file, so it gets one of its own.
		s.conf = filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	}).Addr()
}
