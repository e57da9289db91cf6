package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers/sim"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// gatewayBinary builds the gateway once per test run.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "gateway-bin"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "gateway")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// process is a running gateway binary.
type process struct {
	cmd               *exec.Cmd
	stderr            *lockedBuffer
	grpc, http, admin string
	exited            chan struct{}
	exitErr           error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBinary runs the gateway on a config directory with args and env,
// and waits until /readyz answers 200.
func startBinary(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	p := &process{grpc: freeAddr(t), http: freeAddr(t), admin: freeAddr(t), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	args = append([]string{"-config-dir", dir, "-grpc-addr", p.grpc, "-http-addr", p.http, "-admin-addr", p.admin}, args...)
	p.cmd = exec.Command(gatewayBinary(t), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for readyz(p.admin) != http.StatusOK {
		select {
		case <-p.exited:
			t.Fatalf("gateway exited: %v\n%s", p.exitErr, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// readyz is the status of /readyz, 0 when nothing answers.
func readyz(admin string) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + admin + "/readyz")
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// simConfig writes a configuration whose only route is answered by an
// OpenAI-speaking simulator at url.
func simConfig(t *testing.T, url string) string {
	t.Helper()
	files := map[string]string{
		"provider_settings.json": `{"providers": {"openai": {"kind": "openai", "base_url": "` + url + `/v1", "api_key_env": "BIN_TEST_KEY",
			"timeout": "30s", "retry": {"max_attempts": 1}}},
			"models": [{"name": "gpt-4o-mini", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`,
		"ab_test_config.json": `{"routes": {"r": {"variants": [{"name": "v", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]}}}`,
	}
	return writeConfig(t, files)
}

func completeRequest() *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route:    "r",
		Messages: []*gatewayv1.Message{user("hello")},
		Params:   &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
	}
}

// TestBinaryGracefulShutdown sends SIGTERM to the gateway binary while a
// slow stream is in flight: /readyz turns 503 while the stream still runs,
// new calls are refused, the stream completes, and the process exits 0
// within the grace period.
func TestBinaryGracefulShutdown(t *testing.T) {
	_, url := startSim(t, sim.Config{InterToken: 50 * time.Millisecond, AnswerTokens: 30, RequireAPIKey: "k"})
	p := startBinary(t, simConfig(t, url), []string{"BIN_TEST_KEY=k"}, "-shutdown-grace", "20s", "-log-level", "info")

	client, ctx := p.connect(t, 30*time.Second)
	st, err := client.Stream(ctx, completeRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}

	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness flips first, while the stream is still running (~1.5 s).
	for code := readyz(p.admin); code != http.StatusServiceUnavailable; code = readyz(p.admin) {
		if time.Since(sent) > 5*time.Second {
			t.Fatalf("/readyz = %d after SIGTERM, want 503", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// New work is refused: a new gRPC connection and a REST call.
	client2, ctx2 := p.connect(t, 5*time.Second)
	if _, err := client2.Complete(ctx2, completeRequest()); err == nil {
		t.Fatal("a new gRPC call was accepted during shutdown")
	}
	if resp, err := http.Post("http://"+p.http+"/v1/complete", "application/json", strings.NewReader(`{"route":"r"}`)); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("a new REST call was answered during shutdown: %d", resp.StatusCode)
	}

	// The in-flight stream completes.
	tokens := 0
	for _, m := range recvAll(t, st) {
		if m.Done {
			if m.Usage.GetOutputTokens() != 30 {
				t.Fatalf("final usage %v, want 30 output tokens", m.Usage)
			}
		} else {
			tokens++
		}
	}
	if tokens == 0 {
		t.Fatal("no tokens after SIGTERM: the stream was not in flight")
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("gateway did not exit within the grace period")
	}
	if p.exitErr != nil {
		t.Fatalf("exit: %v\n%s", p.exitErr, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", p.stderr.String())
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns a pool trusting it.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestBinaryServesTLS starts the binary with its certificate given by a
// flag and its key by the environment: gRPC and REST answer over TLS, the
// admin port stays plain HTTP.
func TestBinaryServesTLS(t *testing.T) {
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	tlsDir := t.TempDir()
	pool := selfSigned(t, tlsDir)
	p := startBinary(t, simConfig(t, url), []string{"BIN_TEST_KEY=k", "LLMGW_TLS_KEY=" + filepath.Join(tlsDir, "tls.key")},
		"-tls-cert", filepath.Join(tlsDir, "tls.crt"), "-log-level", "error")

	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := gatewayv1.NewLLMGatewayClient(conn).Complete(ctx, completeRequest()); err != nil {
		t.Fatalf("gRPC over TLS: %v", err)
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post("https://"+p.http+"/v1/complete", "application/json",
		strings.NewReader(`{"route": "r", "messages": [{"role": "ROLE_USER", "content": "hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("REST over TLS: %d", resp.StatusCode)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	if p.exitErr != nil {
		t.Fatalf("exit: %v", p.exitErr)
	}
}

// quotaConfig writes a configuration with two limits per request, so
// that the quota store checks several counters in one script.
func quotaConfig(t *testing.T, url string) string {
	t.Helper()
	dir := simConfig(t, url)
	limits := `{"limits": [{"name": "per_user", "scope": ["user"], "requests_per_minute": 3},
		{"name": "tokens", "scope": ["route"], "tokens_per_minute": 100000}]}`
	writeConfigFile(t, dir, "rate_limits.json", limits)
	return dir
}

// checkSharedQuota makes four requests of one user against a limit of
// three per minute and stops the gateway.
func checkSharedQuota(t *testing.T, p *process) {
	t.Helper()
	client := dial(t, p.grpc)
	req := completeRequest()
	req.Caller = &gatewayv1.Caller{Subject: "u1"}
	req.Params.Temperature = proto.Float64(1) // not cached
	for i := range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := client.Complete(ctx, req)
		cancel()
		if i < 3 && err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i == 3 && status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("4th request: %v, want ResourceExhausted", err)
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	if p.exitErr != nil {
		t.Fatalf("exit: %v", p.exitErr)
	}
}

// TestBinaryOnRedisCluster runs the gateway binary on a real 3-master
// Redis Cluster given as several -redis-addrs, with the quota store
// failing closed so that a store error cannot hide behind local limits:
// two limits checked by one script per request are enforced.
func TestBinaryOnRedisCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	p := startBinary(t, quotaConfig(t, url), []string{"BIN_TEST_KEY=k"},
		"-redis-addrs", strings.Join(addrs, ","), "-quota-fail-closed", "-log-level", "warn")
	checkSharedQuota(t, p)
}

// TestBinaryThroughRedisSentinel gives the gateway a sentinel's address
// and -redis-master-name: it finds the master through the sentinel and
// keeps its quota counters there.
func TestBinaryThroughRedisSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "mymaster")
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	p := startBinary(t, quotaConfig(t, url), []string{"BIN_TEST_KEY=k"},
		"-redis-addrs", sentinel, "-redis-master-name", "mymaster", "-quota-fail-closed", "-log-level", "warn")
	checkSharedQuota(t, p)
	checkQuotaKeys(t, master, "")
}

// TestBinaryThroughRedisSentinelWithPasswords: master and sentinel both
// require a password, each from its own environment variable; the gateway
// authenticates to both.
func TestBinaryThroughRedisSentinelWithPasswords(t *testing.T) {
	master := redistest.StartWithPassword(t, "master-secret")
	sentinel := redistest.StartSentinelWith(t, master, "mymaster",
		redistest.SentinelOptions{MasterPassword: "master-secret", Password: "sentinel-secret"})
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	p := startBinary(t, quotaConfig(t, url), []string{"BIN_TEST_KEY=k", "REDIS_PW=master-secret", "SENTINEL_PW=sentinel-secret"},
		"-redis-addrs", sentinel, "-redis-master-name", "mymaster",
		"-redis-password-env", "REDIS_PW", "-redis-sentinel-password-env", "SENTINEL_PW",
		"-quota-fail-closed", "-log-level", "warn")
	checkSharedQuota(t, p)
	checkQuotaKeys(t, master, "master-secret")
	if strings.Contains(p.stderr.String(), "secret") {
		t.Errorf("a password reached the log:\n%s", p.stderr.String())
	}
}

// checkQuotaKeys asserts that the Redis at addr holds quota keys.
func checkQuotaKeys(t *testing.T, addr, password string) {
	t.Helper()
	c, err := new(net.Dialer).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if password != "" {
		if _, err := io.WriteString(c, "AUTH "+password+"\r\n"); err != nil {
			t.Fatal(err)
		}
		if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
			t.Fatalf("AUTH: %q %v", line, err)
		}
	}
	if _, err := io.WriteString(c, "KEYS llmgw:quota:*\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil || line == "*0\r\n" || !strings.HasPrefix(line, "*") {
		t.Fatalf("quota keys on the master: %q %v", line, err)
	}
}
