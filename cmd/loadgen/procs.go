package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a process may take to say it listens.
const startTimeout = 30 * time.Second

// proc is a child process whose stderr goes to a log file, written by the
// child itself so that draining it costs the harness no CPU.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// startProc runs bin with args, its stdout and stderr in dir/name.log.
// The child is killed if the harness dies.
func startProc(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	// The process's lifetime is managed by stop, not by a context.
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the child's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitLog waits until the child logs a JSON line whose "msg" is msg and
// returns that line's fields.
func (p *proc) waitLog(msg string) (map[string]any, error) {
	deadline := time.Now().Add(startTimeout)
	for {
		if fields, ok := findLog(p.logPath, msg); ok {
			return fields, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it listened; its log:\n%s", p.name, p.tail())
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not log %q within %s; its log:\n%s", p.name, msg, startTimeout, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findLog scans the log file for a JSON line with the given msg.
func findLog(path, msg string) (map[string]any, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(msg)) {
			continue
		}
		var fields map[string]any
		if json.Unmarshal(line, &fields) == nil && fields["msg"] == msg {
			return fields, true
		}
	}
	return nil, false
}

// tail is the end of the child's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// stop ends the child: SIGTERM, then SIGKILL after a few seconds.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rss reads the process's resident set size and its peak (VmRSS, VmHWM)
// in bytes from /proc.
func rss(pid int) (cur, peak int64, err error) {
	v, err := procStatus(pid, "VmRSS", "VmHWM")
	return v[0], v[1], err
}

// procStatus reads the named sizes (kB lines such as VmRSS or RssAnon)
// from /proc/<pid>/status, in bytes, in the order asked; each must be
// there.
func procStatus(pid int, names ...string) ([]int64, error) {
	v := make([]int64, len(names))
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return v, err
	}
	found := 0
	for line := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(line, ":")
		i := slices.Index(names, name)
		if !ok || i < 0 {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return v, fmt.Errorf("%s: %w", name, err)
		}
		v[i] = kb << 10
		found++
	}
	if found < len(names) {
		return v, fmt.Errorf("/proc/%d/status lacks one of %s", pid, strings.Join(names, ", "))
	}
	return v, nil
}

// simProc is a running bin/llmsim.
type simProc struct {
	*proc
	addr string
}

// startSim runs the simulator on a free port with the given extra flags.
func startSim(dir, name, bin string, args ...string) (*simProc, error) {
	p, err := startProc(dir, name, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	if err != nil {
		return nil, err
	}
	fields, err := p.waitLog("llmsim listening")
	if err != nil {
		p.stop()
		return nil, err
	}
	addr, _ := fields["addr"].(string)
	return &simProc{proc: p, addr: addr}, nil
}

// gatewayProc is a running bin/gateway.
type gatewayProc struct {
	*proc
	grpcAddr, httpAddr, adminAddr string
}

// startGateway runs the gateway on free ports with the configuration in
// configDir, pprof on its admin port, and the given extra flags.
func startGateway(dir, name, bin, configDir string, args ...string) (*gatewayProc, error) {
	base := []string{
		"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-config-dir", configDir, "-pprof", "-shutdown-grace", "2s",
	}
	p, err := startProc(dir, name, bin, append(base, args...)...)
	if err != nil {
		return nil, err
	}
	fields, err := p.waitLog("gateway listening")
	if err != nil {
		p.stop()
		return nil, err
	}
	g := &gatewayProc{proc: p}
	g.grpcAddr, _ = fields["grpc"].(string)
	g.httpAddr, _ = fields["http"].(string)
	g.adminAddr, _ = fields["admin"].(string)
	return g, nil
}

// startFloor runs this program's floor subcommand in front of upstream.
func startFloor(dir, upstream string) (*proc, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	p, err := startProc(dir, "floor", self, "floor", "-listen", "127.0.0.1:0", "-upstream", upstream)
	if err != nil {
		return nil, "", err
	}
	fields, err := p.waitLog(floorListening)
	if err != nil {
		p.stop()
		return nil, "", err
	}
	addr, _ := fields["addr"].(string)
	return p, addr, nil
}

// startRedis runs redis-server without persistence on a free port. The
// port is found by binding and releasing it, so a few are tried.
func startRedis(dir, bin string) (*proc, string, error) {
	var lastErr error
	for i := range 5 {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		p, err := startProc(dir, "redis-"+strconv.Itoa(i), bin,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no")
		if err != nil {
			return nil, "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = waitRedis(addr, p.done); lastErr == nil {
			return p, addr, nil
		}
		p.stop()
		lastErr = fmt.Errorf("%w; its log:\n%s", lastErr, p.tail())
	}
	return nil, "", fmt.Errorf("redis-server: %w", lastErr)
}

func waitRedis(addr string, exited <-chan struct{}) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %s: %w", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// raiseFileLimit raises the soft limit on open files to the hard limit, so
// that thousands of streams fit; children inherit it.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
