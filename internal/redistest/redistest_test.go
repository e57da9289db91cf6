package redistest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/internal/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// send runs one inline command and returns the first line of the reply.
func send(addr, cmd string) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestStart(t *testing.T) {
	addr := redistest.Start(t)
	if got, err := send(addr, "PING"); err != nil || got != "+PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	// No persistence: nothing may be written next to the test.
	if got, err := send(addr, "CONFIG GET save"); err != nil || !strings.HasPrefix(got, "*2") {
		t.Fatalf("CONFIG GET save = %q, %v", got, err)
	}
}

func TestTwoServers(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a == b {
		t.Fatalf("two servers on one address %s", a)
	}
	if _, err := send(a, "SET k 1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := send(b, "GET k"); got != "$-1" {
		t.Errorf("the second server sees the first one's key: %q", got)
	}
}

func TestKillRestart(t *testing.T) {
	s := redistest.StartServer(t)
	if _, err := send(s.Addr(), "SET k 1"); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if _, err := send(s.Addr(), "PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Kill() // idempotent
	s.Restart()
	if got, err := send(s.Addr(), "PING"); err != nil || got != "+PONG" {
		t.Fatalf("PING after Restart = %q, %v", got, err)
	}
	if got, _ := send(s.Addr(), "GET k"); got != "$-1" {
		t.Errorf("data survived the restart: %q", got)
	}
	s.Restart() // restarting a running server kills it first
	if got, err := send(s.Addr(), "PING"); err != nil || got != "+PONG" {
		t.Fatalf("PING after second Restart = %q, %v", got, err)
	}
}

// fatalTB records Fatalf and ends its goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func TestMissingBinaryFails(t *testing.T) {
	t.Setenv(redistest.EnvBinary, "")
	t.Setenv("PATH", t.TempDir())
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(tb)
		t.Error("Start returned without redis-server")
	}()
	<-done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if !strings.Contains(tb.msg, "make test") {
		t.Errorf("the failure does not say how to install redis-server: %q", tb.msg)
	}
}

// TestStartCluster starts a 3-master cluster whose nodes agree on their
// slots: a key's node answers for it, another node redirects with MOVED.
func TestStartCluster(t *testing.T) {
	start := time.Now()
	addrs := redistest.StartCluster(t, 3)
	t.Logf("3-master cluster ready in %v", time.Since(start).Round(time.Millisecond))
	moved := 0
	for _, a := range addrs {
		line, err := send(a, "SET foo bar")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case line == "+OK":
		case strings.HasPrefix(line, "-MOVED"):
			moved++
		default:
			t.Fatalf("%s: SET answered %q", a, line)
		}
	}
	if moved != 2 {
		t.Fatalf("%d nodes redirected, want 2 (one node owns the slot)", moved)
	}
	for _, a := range addrs {
		if line, err := send(a, "CLUSTER INFO"); err != nil || !strings.HasPrefix(line, "$") {
			t.Fatalf("%s: CLUSTER INFO %q %v", a, line, err)
		}
	}
}

// TestStartSentinel: the sentinel names the master it monitors.
func TestStartSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "mymaster")
	line, err := send(sentinel, "SENTINEL get-master-addr-by-name mymaster")
	if err != nil || line != "*2" {
		t.Fatalf("SENTINEL get-master-addr-by-name: %q %v", line, err)
	}
}
