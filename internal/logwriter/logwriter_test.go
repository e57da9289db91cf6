package logwriter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder counts the writes it gets.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	delay  time.Duration
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	r.buf.Write(p)
	return len(p), r.err
}

func TestEveryLineInOrderAndCoalesced(t *testing.T) {
	out := &recorder{delay: 2 * time.Millisecond}
	w := New(out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				line := []byte(fmt.Sprintf("g%d %03d\n", g, i))
				if _, err := w.Write(line); err != nil {
					t.Error(err)
				}
				line[0] = 'X' // the caller's buffer is its own again
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	next := map[string]int{}
	for _, l := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s %d", &g, &i); err != nil || g[0] != 'g' {
			t.Fatalf("line %q", l)
		}
		if i != next[g] {
			t.Fatalf("%s: line %d after %d: out of order", g, i, next[g]-1)
		}
		next[g]++
	}
	if out.writes >= 1600/4 {
		t.Errorf("%d writes for 1600 lines from 8 writers to a slow output: not coalesced", out.writes)
	}
}

func TestQuietLinesAreWrittenAtOnce(t *testing.T) {
	out := &recorder{}
	w := New(out)
	defer func() { _ = w.Close() }()
	_, _ = w.Write([]byte("one\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		out.mu.Lock()
		got := out.buf.String()
		out.mu.Unlock()
		if got == "one\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output %q: the line was not written without more lines coming", got)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAfterCloseWritesGoStraightThrough(t *testing.T) {
	out := &recorder{}
	w := New(out)
	_, _ = w.Write([]byte("before\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close() // twice is fine
	if _, err := w.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.buf.String(); got != "before\nafter\n" {
		t.Errorf("output %q", got)
	}
}

func TestOutputErrorsAreReported(t *testing.T) {
	out := &recorder{err: errors.New("disk full")}
	w := New(out)
	_, _ = w.Write([]byte("x\n"))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the output's error", err)
	}
}

func TestASlowOutputHoldsWritersBack(t *testing.T) {
	out := &recorder{delay: 50 * time.Millisecond}
	w := New(out)
	defer func() { _ = w.Close() }()
	big := bytes.Repeat([]byte("y"), maxPending/4)
	start := time.Now()
	for range 12 { // three times the bound while the output sleeps
		_, _ = w.Write(big)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("12 writes of a quarter of the bound did not wait for a slow output")
	}
}

// BenchmarkWrite is what a request pays for its line: "direct" writes it
// to /dev/null itself, "queued" hands it to a Writer in front of the same.
func BenchmarkWrite(b *testing.B) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = null.Close() }()
	b.Run("direct", func(b *testing.B) { benchmarkWrite(b, null) })
	w := New(null)
	defer func() { _ = w.Close() }()
	b.Run("queued", func(b *testing.B) { benchmarkWrite(b, w) })
}

func benchmarkWrite(b *testing.B, w io.Writer) {
	line := []byte(`{"time":"2026-12-05T01:00:00Z","level":"INFO","msg":"request","rpc":"/llmgateway.v1.LLMGateway/Complete","status":"OK","latency_ms":0.5}` + "\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = w.Write(line)
		}
	})
}
