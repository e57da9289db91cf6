package chaos_test

import (
	"bufio"
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
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"

	"github.com/careerpath/llmgateway/config"
)

// buildBinaries builds the gateway and the simulator into a temporary
// directory, with the race detector when the test runs with it, and
// returns their paths.
func buildBinaries(t *testing.T) (gateway, llmsim string) {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []struct{ out, pkg string }{
		{filepath.Join(dir, "gateway"), "github.com/careerpath/llmgateway/cmd/gateway"},
		{filepath.Join(dir, "llmsim"), "github.com/careerpath/llmgateway/cmd/llmsim"},
	} {
		args := []string{"build", "-o", b.out}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.CommandContext(t.Context(), "go", append(args, b.pkg)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return filepath.Join(dir, "gateway"), filepath.Join(dir, "llmsim")
}

// proc is a child process whose stderr goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// startProc runs bin with args and env added to the test's environment,
// stdout and stderr going to dir/name.log. The process is killed when the
// test ends if it is still running, and dies with the test process.
func startProc(t *testing.T, dir, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // the child has its own descriptor
	// The process's lifetime is managed here (stop, kill at cleanup), not
	// by a context.
	p.cmd = exec.CommandContext(context.Background(), bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	if raceEnabled {
		// The race runtime sleeps a second before exiting by default,
		// which would count as the process's own shutdown time.
		p.cmd.Env = append(p.cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to exit and returns its exit code
// (-1 when it was killed by a signal or did not exit in time).
func (p *proc) wait(d time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
	case <-time.After(d):
		return -1, false
	}
	return p.cmd.ProcessState.ExitCode(), true
}

// logLines returns the process's JSON log lines decoded (other lines are
// skipped).
func (p *proc) logLines() ([]map[string]any, error) {
	f, err := os.Open(p.log)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// tail is the end of the process's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// waitLog waits until the process logs a line whose msg is msg, and
// returns that line.
func (p *proc) waitLog(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines, _ := p.logLines()
		for _, l := range lines {
			if l["msg"] == msg {
				return l
			}
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s did not log %q (exited: %v); its log:\n%s", p.name, msg, p.exited(), p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// simulator is one llmsim process.
type simulator struct {
	*proc
	url string // http://host:port
}

// startSim starts an llmsim on a free port requiring key.
func startSim(t *testing.T, bin, dir, name, key string) *simulator {
	t.Helper()
	p := startProc(t, dir, name, bin, nil, "-addr", "127.0.0.1:0", "-require-api-key", key,
		"-latency", "20ms", "-inter-token", "15ms", "-answer-tokens", "30")
	line := p.waitLog(t, "llmsim listening", 30*time.Second)
	return &simulator{proc: p, url: "http://" + line["addr"].(string)}
}

// fault installs faults (a JSON fault or list, see providers/sim) on the
// simulator; an empty body clears them.
func (s *simulator) fault(t *testing.T, body string) {
	t.Helper()
	method := http.MethodPut
	if body == "" {
		method = http.MethodDelete
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+"/_sim/fault", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		t.Fatalf("%s: fault %s: %v", s.name, body, err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: fault %s: %d %s", s.name, body, resp.StatusCode, b)
	}
}

// faultsInjected is how many requests the simulator's faults hit, by kind.
func (s *simulator) faultsInjected(t *testing.T) map[string]int64 {
	t.Helper()
	var st struct {
		FaultsByKind map[string]int64 `json:"faults_by_kind"`
	}
	getJSON(t, s.url+"/_sim/stats", &st)
	return st.FaultsByKind
}

// Configuration of the replicas. %PRIMARY% and %BACKUP% are the
// simulators' URLs. Attempts are short (1s) so that a hanging provider is
// given up on well within the clients' deadlines, and the breaker reacts
// within a flap.
const (
	providerSettings = `{
  "providers": {
    "primary": {"kind": "openai", "base_url": "%PRIMARY%/v1", "api_key_env": "CHAOS_PRIMARY_KEY", "timeout": "1s",
      "retry": {"max_attempts": 2, "initial_backoff": "50ms", "max_backoff": "200ms", "jitter": 0.2},
      "circuit_breaker": {"failure_rate": 0.5, "min_requests": 10, "window": "5s", "open_for": "2s", "half_open_probes": 2},
      "stream": {"first_token_timeout": "1s", "idle_timeout": "1s"}},
    "backup": {"kind": "anthropic", "base_url": "%BACKUP%", "api_key_env": "CHAOS_BACKUP_KEY", "timeout": "1s",
      "retry": {"max_attempts": 2, "initial_backoff": "50ms", "max_backoff": "200ms", "jitter": 0.2},
      "circuit_breaker": {"failure_rate": 0.5, "min_requests": 10, "window": "5s", "open_for": "2s", "half_open_probes": 2},
      "stream": {"first_token_timeout": "1s", "idle_timeout": "1s"}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "primary", "context_window": 128000,
     "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
    {"name": "claude-3-5-haiku-latest", "provider": "backup", "context_window": 200000,
     "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}}
  ]
}`
	routesTemplate = `{
  "routes": {
    "chat": {
      "variants": [{"name": "main", "provider": "primary", "model": "gpt-4o-mini", "weight": 1}],
      "backups": [{"provider": "backup", "model": "claude-3-5-haiku-latest"}],
      "degraded_answer": "%DEGRADED%"
    }
  }
}`
	// invalidRoutes parses but fails validation: a route needs a variant.
	invalidRoutes = `{"routes": {"chat": {"variants": []}}}`
	rateLimits    = `{"limits": [{"name": "per_user", "scope": ["user"], "requests_per_minute": 100000, "concurrent_streams": 100}]}`
)

// routes is the route configuration with the given degraded answer.
func routes(degraded string) string {
	return strings.ReplaceAll(routesTemplate, "%DEGRADED%", degraded)
}

// replica is one gateway process.
type replica struct {
	*proc
	idx                       int
	dir                       string // its configuration directory
	grpcAddr, httpAddr, admin string
}

// startReplica starts gateway replica idx with its own copy of the
// configuration, sharing Redis at redisAddr.
func startReplica(t *testing.T, bin, dir string, idx int, primary, backup *simulator, keyHash, redisAddr string) *replica {
	t.Helper()
	name := fmt.Sprintf("gateway%d", idx)
	cfgDir := filepath.Join(dir, name+"-config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	urls := strings.NewReplacer("%PRIMARY%", primary.url, "%BACKUP%", backup.url)
	files := map[string]string{
		config.ProviderSettingsFile: urls.Replace(providerSettings),
		config.ABTestConfigFile:     routes("The assistant is busy; please try again shortly."),
		config.RateLimitsFile:       rateLimits,
		config.ClientsFile:          `{"clients": [{"name": "chaos", "key_sha256": "` + keyHash + `", "routes": ["*"]}]}`,
	}
	for n, body := range files {
		writeAtomic(t, cfgDir, n, body)
	}
	p := startProc(t, dir, name, bin,
		[]string{"CHAOS_PRIMARY_KEY=" + primaryKey, "CHAOS_BACKUP_KEY=" + backupKey},
		"-config-dir", cfgDir, "-redis-addrs", redisAddr,
		"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-shutdown-grace", shutdownGrace.String(), "-config-debounce", "100ms")
	line := p.waitLog(t, "gateway listening", 60*time.Second)
	r := &replica{proc: p, idx: idx, dir: cfgDir,
		grpcAddr: line["grpc"].(string), httpAddr: line["http"].(string), admin: line["admin"].(string)}
	deadline := time.Now().Add(10 * time.Second)
	for !r.ready() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready; its log:\n%s", name, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// Provider keys the simulators require; the gateways read them from the
// environment.
const (
	primaryKey = "sk-chaos-primary"
	backupKey  = "sk-ant-chaos-backup"
)

// shutdownGrace is the replicas' -shutdown-grace.
const shutdownGrace = 10 * time.Second

// writeAtomic writes dir/name by renaming a temporary file over it, as a
// deployment tool does, so that the watcher never reads half a file.
func writeAtomic(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// adminClient is for the admin endpoints; short timeouts so that a
// stopped replica is seen at once.
var adminClient = &http.Client{Timeout: 2 * time.Second, Transport: adminTransport}

// ready reports whether /readyz answers 200.
func (r *replica) ready() bool { return r.readyStatus() == http.StatusOK }

// readyStatus is /readyz's HTTP status, 0 when nothing answered.
func (r *replica) readyStatus() int {
	resp, err := adminClient.Get("http://" + r.admin + "/readyz")
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// configStatus is /admin/config.
type configStatus struct {
	Version   string `json:"version"`
	LastError string `json:"last_error"`
	Reloads   int64  `json:"reloads"`
	Failures  int64  `json:"failures"`
}

func (r *replica) configStatus(t *testing.T) configStatus {
	t.Helper()
	var st configStatus
	getJSON(t, "http://"+r.admin+"/admin/config", &st)
	return st
}

// metrics scrapes the replica's /metrics.
func (r *replica) metrics(t *testing.T) map[string]*metricFamily {
	t.Helper()
	resp, err := adminClient.Get("http://" + r.admin + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", r.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s /metrics: %v", r.name, err)
	}
	return fams
}

// metricFamily is a scraped metric family.
type metricFamily = dto.MetricFamily

// metricSum adds up the samples of a counter or gauge whose labels include
// every label in match.
func metricSum(fams map[string]*metricFamily, name string, match map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range match {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// rss is the process's resident set size in bytes, from /proc.
func rss(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, err
	}
	return st.VmRSS, nil
}

// getJSON decodes GET url's JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := adminClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// waitUntil polls ok every 50ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// handledCalls counts the calls a replica logged as finished (the access
// log has one "request" line per call, whatever its outcome; health
// checks are not logged), by method.
func (r *replica) handledCalls() (map[string]int, error) {
	lines, err := r.logLines()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, l := range lines {
		if l["msg"] == "request" {
			m, _ := l["rpc"].(string)
			out[m]++
		}
	}
	return out, nil
}

// problemsInLog lists what a replica's log must never hold: panics and
// data races.
func (p *proc) problemsInLog() []string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, bad := range []string{"WARNING: DATA RACE", "panic in handler", "goroutine leak", "fatal error:"} {
		if n := bytes.Count(b, []byte(bad)); n > 0 {
			out = append(out, fmt.Sprintf("%s: %q ×%d", p.name, bad, n))
		}
	}
	return out
}

var errNotRunning = errors.New("not running")

// signal sends sig to the process.
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return errNotRunning
	}
	return p.cmd.Process.Signal(sig)
}

// sampler records a replica's RSS and goroutines at one moment.
type sample struct {
	rss        uint64
	goroutines float64
}

func (r *replica) sample(t *testing.T) sample {
	t.Helper()
	b, err := rss(r.pid())
	if err != nil {
		t.Fatalf("%s RSS: %v", r.name, err)
	}
	return sample{rss: b, goroutines: metricSum(r.metrics(t), "go_goroutines", nil)}
}
