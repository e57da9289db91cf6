package validate

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const repoRoot = "../.."

// gatewayBinary is $GATEWAY_BIN (make check-deploy passes bin/gateway) or
// a fresh build of cmd/gateway.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("GATEWAY_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// startRedis runs a throwaway redis-server on a free port.
func startRedis(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (make system-deps installs it): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeploymentRunsTheGateway starts the real gateway the way the
// Deployment does: the ConfigMap's files as its configuration directory,
// the Deployment's environment (listen addresses moved to free local
// ports, Redis to a local redis-server, secrets from the example Secret),
// and checks the probes' endpoints, metrics and a clean SIGTERM.
func TestDeploymentRunsTheGateway(t *testing.T) {
	o := loadObjects(t)
	bin := gatewayBinary(t)

	// Every LLMGW_ variable must name a real flag: the gateway ignores
	// unknown ones silently.
	help, _ := exec.Command(bin, "-help").CombinedOutput()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		flags["LLMGW_"+strings.ToUpper(strings.ReplaceAll(m[1], "-", "_"))] = true
	}
	if len(flags) < 10 {
		t.Fatalf("could not read the flags from gateway -help:\n%s", help)
	}

	dir := t.TempDir()
	for name, content := range o.configMap.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	admin := freeAddr(t)
	override := map[string]string{
		"LLMGW_GRPC_ADDR":   freeAddr(t),
		"LLMGW_HTTP_ADDR":   freeAddr(t),
		"LLMGW_ADMIN_ADDR":  admin,
		"LLMGW_CONFIG_DIR":  dir,
		"LLMGW_REDIS_ADDRS": startRedis(t),
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	c := o.deployment.Spec.Template.Spec.Containers[0]
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "LLMGW_") && !flags[e.Name] {
			t.Errorf("%s is not a gateway flag", e.Name)
		}
		value := e.Value
		if v, ok := override[e.Name]; ok {
			value = v
		} else if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			value = o.secret.StringData[ref.SecretKeyRef.Key]
		}
		environ = append(environ, e.Name+"="+value)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = environ
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			t.Logf("gateway killed: %v", <-exited)
		}
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	}()

	// The startup and readiness probe: /readyz turns 200.
	base := "http://" + admin
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get(base + "/readyz"); code == http.StatusOK {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("gateway exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway not ready after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get(base + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	_, metrics := get(base + "/metrics")
	for _, want := range []string{"llmgateway_config_info{version=", "llmgateway_circuit_breaker_state"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := get(base + "/admin/config"); code != http.StatusOK || !strings.Contains(body, dir) {
		t.Errorf("/admin/config = %d %s, want the mounted directory as source", code, body)
	}
	if strings.Contains(logs.String(), "AUTHENTICATION IS DISABLED") {
		t.Error("the ConfigMap leaves authentication off")
	}
	for _, secret := range []string{o.secret.StringData["OPENAI_API_KEY"], o.secret.StringData["ANTHROPIC_API_KEY"]} {
		if secret != "" && strings.Contains(logs.String()+metrics, secret) {
			t.Error("a provider key appears in the logs or metrics")
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("gateway exit after SIGTERM: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("gateway did not stop within 40s of SIGTERM")
	}
	if !strings.Contains(logs.String(), `"shared state in Redis"`) {
		t.Error("the gateway did not use Redis")
	}
}

func get(url string) (int, string) {
	resp, err := http.Get(url) //nolint:noctx // a local admin port in a test
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
