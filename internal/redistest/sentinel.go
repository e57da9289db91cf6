package redistest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SentinelOptions are the passwords of a sentinel started by
// [StartSentinelWith].
type SentinelOptions struct {
	// MasterPassword is the monitored master's password (the sentinel's
	// auth-pass for it); empty for a master without one.
	MasterPassword string
	// Password, when set, is required of the sentinel's own clients
	// (requirepass).
	Password string
}

// StartSentinel starts a Redis Sentinel for t that monitors the master at
// masterAddr under name, and returns the sentinel's address. It is stopped
// when t ends.
func StartSentinel(t testing.TB, masterAddr, name string) string {
	t.Helper()
	return StartSentinelWith(t, masterAddr, name, SentinelOptions{})
}

// StartSentinelWith is [StartSentinel] for a master, or a sentinel, that
// requires a password.
func StartSentinelWith(t testing.TB, masterAddr, name string, o SentinelOptions) string {
	t.Helper()
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		t.Fatalf("redistest: master address %q: %v", masterAddr, err)
	}
	for _, p := range []string{o.MasterPassword, o.Password} {
		if strings.ContainsAny(p, " \t\r\n\"'\\") {
			t.Fatalf("redistest: a password with spaces, quotes or backslashes cannot be written to sentinel.conf as is")
		}
	}
	conf := fmt.Sprintf("sentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 5000\n", name, host, port, name)
	if o.MasterPassword != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", name, o.MasterPassword)
	}
	if o.Password != "" {
		conf += fmt.Sprintf("requirepass %s\n", o.Password)
	}
	return launch(t, func(s *Server) {
		s.extra = []string{"--sentinel"}
		s.password = o.Password
		// Sentinel rewrites its configuration file, so it gets one of its own.
		s.conf = filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	}).Addr()
}
