package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
)

// grpcurlDoc is the page, relative to the repository's root, whose marked
// code block TestDocsGrpcurl runs.
const grpcurlDoc = "docs/api.md"

// grpcurlMarker precedes the code block of grpcurlDoc whose commands
// TestDocsGrpcurl runs verbatim.
const grpcurlMarker = "<!-- tested: TestDocsGrpcurl runs each command of the next block verbatim -->"

// grpcurlCommands returns the commands of the marked block: each starts on
// a line beginning with "bin/grpcurl" and runs to the next one.
func grpcurlCommands(t *testing.T, page string) []string {
	t.Helper()
	_, after, ok := strings.Cut(page, grpcurlMarker)
	if !ok {
		t.Fatalf("%s has no %q", grpcurlDoc, grpcurlMarker)
	}
	m := regexp.MustCompile("(?s)\\A\\s*```sh\\n(.*?)\\n```").FindStringSubmatch(after)
	if m == nil {
		t.Fatal("the marker is not followed by a ```sh block")
	}
	var cmds []string
	for _, line := range strings.Split(m[1], "\n") {
		if strings.HasPrefix(line, "bin/grpcurl ") {
			cmds = append(cmds, line)
			continue
		}
		if len(cmds) == 0 {
			t.Fatalf("the block starts with %q, not a bin/grpcurl command", line)
		}
		cmds[len(cmds)-1] += "\n" + line
	}
	return cmds
}

// TestDocsGrpcurl runs the grpcurl commands of docs/api.md, exactly as
// written, against a live gateway (the binary named by LLMGW_TEST_GATEWAY,
// `make test-grpcurl`) with the default configuration and authentication
// on; only $LLMGW_GRPC_ADDR and $LLMGW_API_KEY come from the test.
func TestDocsGrpcurl(t *testing.T) {
	bin := os.Getenv("LLMGW_TEST_GATEWAY")
	if bin == "" {
		t.Skip("set LLMGW_TEST_GATEWAY to the gateway binary (make test-grpcurl)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "grpcurl")); err != nil {
		t.Fatalf("bin/grpcurl: %v (make tools installs it)", err)
	}
	page, err := os.ReadFile(filepath.Join(root, grpcurlDoc))
	if err != nil {
		t.Fatal(err)
	}
	cmds := grpcurlCommands(t, string(page))

	// The embedded default configuration plus a clients.json: the page's
	// routes, with authentication on.
	dir := t.TempDir()
	defaults, err := filepath.Glob(filepath.Join(root, "config", "defaults", "*"))
	if err != nil || len(defaults) == 0 {
		t.Fatalf("config/defaults: %v", err)
	}
	for _, f := range defaults {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key, hash := config.NewKey()
	clients := fmt.Sprintf(`{"clients": [{"name": "docs", "key_sha256": %q, "routes": ["*"]}]}`, hash)
	if err := os.WriteFile(filepath.Join(dir, "clients.json"), []byte(clients), 0o600); err != nil {
		t.Fatal(err)
	}

	grpcAddr, admin := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	gw := exec.CommandContext(ctx, bin, "-config-dir", dir, "-grpc-addr", grpcAddr,
		"-http-addr", freeAddr(t), "-admin-addr", admin, "-log-level", "warn", "-shutdown-grace", "2s")
	gw.Stdout, gw.Stderr = &logs, &logs
	gw.Cancel = func() error { return gw.Process.Signal(os.Interrupt) }
	gw.WaitDelay = 5 * time.Second
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = gw.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		// A clean exit after the interrupt is reported as the context's
		// error; anything else (a non-zero exit, a kill) is a failure.
		if waitErr != nil && !errors.Is(waitErr, context.Canceled) {
			t.Errorf("gateway: %v\n%s", waitErr, logs.String())
		}
	})
	waitReady(t, admin, exited, &logs)

	for _, c := range cmds {
		name := strings.Fields(c)[len(strings.Fields(c))-1]
		if strings.Contains(c, " list") {
			name = "list"
		}
		t.Run(name, func(t *testing.T) {
			sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", c)
			sh.Dir = root
			sh.Env = append(os.Environ(), "LLMGW_GRPC_ADDR="+grpcAddr, "LLMGW_API_KEY="+key)
			var stdout, stderr bytes.Buffer
			sh.Stdout, sh.Stderr = &stdout, &stderr
			if err := sh.Run(); err != nil {
				t.Fatalf("%s\n%v\nstdout: %s\nstderr: %s", c, err, stdout.String(), stderr.String())
			}
			checkShape(t, c, stdout.Bytes())
		})
	}
}

// checkShape checks that a command's output looks like what the page
// says it prints.
func checkShape(t *testing.T, cmd string, out []byte) {
	t.Helper()
	s := string(out)
	switch {
	case strings.HasSuffix(cmd, " list"):
		for _, want := range []string{"llmgateway.v1.LLMGateway\n", "grpc.health.v1.Health\n"} {
			if !strings.Contains(s, want) {
				t.Errorf("list: no %q in\n%s", want, s)
			}
		}
	case strings.Contains(cmd, " describe "):
		if !strings.Contains(s, "llmgateway.v1.") {
			t.Errorf("describe printed\n%s", s)
		}
	case strings.HasSuffix(cmd, "/Complete"):
		var r struct {
			ID, Text, Route string
			Usage           struct{ OutputTokens int }
		}
		if err := json.Unmarshal(out, &r); err != nil || r.ID == "" || r.Text == "" || r.Route == "" || r.Usage.OutputTokens == 0 {
			t.Errorf("Complete printed (%v)\n%s", err, s)
		}
	case strings.HasSuffix(cmd, "/Stream"):
		dec := json.NewDecoder(bytes.NewReader(out))
		type message struct {
			Delta string
			Done  bool
			Usage struct{ OutputTokens int }
		}
		var deltas int
		var last message
		for {
			var m message
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("Stream printed (%v)\n%s", err, s)
			}
			if m.Delta != "" {
				deltas++
			}
			last = m
		}
		if deltas < 2 || !last.Done || last.Usage.OutputTokens == 0 {
			t.Errorf("Stream printed %d deltas, done %v:\n%s", deltas, last.Done, s)
		}
	default:
		t.Errorf("no output check for %q", cmd)
	}
}

func waitReady(t *testing.T, admin string, exited <-chan struct{}, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("the gateway exited at start:\n%s", logs.String())
		default:
		}
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway was not ready within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
