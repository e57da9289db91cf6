// Package redistest runs a real redis-server for tests: on a free
// 127.0.0.1 port, without persistence, stopped when the test ends. It has
// no Redis client dependency, so any package's tests can use it with the
// client they like.
//
// A missing redis-server fails the test rather than skipping it: CI must
// prove that the Redis-backed code works. `make test` installs it.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// EnvBinary names an environment variable that, when set, is the path of
// the redis-server binary to run instead of the one on PATH.
const EnvBinary = "REDIS_SERVER_BIN"

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is a redis-server process owned by one test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// conf, when set, is a configuration file given first (sentinels
	// need one they can rewrite); extra are more arguments.
	conf  string
	extra []string
	// password, when set, is the server's requirepass: PING is sent after
	// AUTH.
	password string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *syncBuffer
}

// Start starts a redis-server for t and returns its address (host:port).
// The server is stopped when t ends.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t).Addr()
}

// StartWithPassword starts a redis-server for t whose clients must
// authenticate with password (requirepass), and returns its address. The
// server is stopped when t ends.
func StartWithPassword(t testing.TB, password string) string {
	t.Helper()
	return launch(t, func(s *Server) {
		s.password = password
		s.extra = []string{"--requirepass", password}
	}).Addr()
}

// StartServer starts a redis-server for t, for tests that also need to
// kill or restart it. The server is stopped when t ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return launch(t, func(*Server) {})
}

// launch starts a redis-server for t on a free port, stopped when t ends.
// setup, called before each try with the port chosen, sets the server's
// extra arguments or configuration file for that port. The free port is
// found by binding and releasing it, so another process may take it
// before redis-server does: a few ports are tried.
func launch(t testing.TB, setup func(*Server)) *Server {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		bin = "redis-server"
	}
	bin, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("redistest: redis-server is not installed (%v): `make test` (or `make system-deps`) installs it", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.stop)
	var lastErr error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		setup(s)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// Addr is the server's address, host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Kill stops the server at once (SIGKILL), as a crash would. Its data is
// gone: the server keeps nothing on disk.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Restart starts the server again on the same port, empty, after [Server.Kill]
// (or kills it first if it is still running).
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.killLocked()
	s.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return
		}
		// The old socket may linger for a moment.
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	out := &syncBuffer{}
	// The process's lifetime is managed by Kill and the test's cleanup,
	// not by a context.
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(args, []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
	}...)
	args = append(args, s.extra...)
	cmd := exec.CommandContext(context.Background(), s.bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	if err := waitPing(s.Addr(), s.password, done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("redis-server on port %d: %w; its output:\n%s", s.port, err, out.String())
	}
	s.mu.Lock()
	s.cmd, s.done, s.out = cmd, done, out
	s.mu.Unlock()
	return nil
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// stop ends the server at the end of the test: politely first, so that it
// closes its clients' connections, then by force.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// waitPing polls addr with an inline PING until it answers PONG, the
// process exits or the start timeout passes.
func waitPing(addr, password string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var d net.Dialer
	for {
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		case <-ctx.Done():
			return fmt.Errorf("no PONG within %s", startTimeout)
		default:
		}
		if ping(ctx, &d, addr, password) == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, d *net.Dialer, addr, password string) error {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if password != "" {
		// AUTH as a RESP array, so that any byte of the password is sent as is.
		auth := fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password)
		if _, err := c.Write([]byte(auth)); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "+OK\r\n" {
			return fmt.Errorf("AUTH answered %q", line)
		}
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil // enough to diagnose a failed start
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
