package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvCLI names an environment variable that, when set, is the path of the
// redis-cli binary [StartCluster] uses instead of the one on PATH.
const EnvCLI = "REDIS_CLI_BIN"

// StartCluster starts a Redis Cluster of masters nodes (at least 3, no
// replicas) for t, each a redis-server with --cluster-enabled yes, joins
// them with `redis-cli --cluster create` and waits for cluster_state:ok.
// It returns the nodes' addresses; every node is stopped when t ends.
func StartCluster(t testing.TB, masters int) []string {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	cli := os.Getenv(EnvCLI)
	if cli == "" {
		cli = "redis-cli"
	}
	cli, err := exec.LookPath(cli)
	if err != nil {
		t.Fatalf("redistest: redis-cli is not installed (%v): `make test` (or `make system-deps`) installs it with redis-server", err)
	}
	addrs := make([]string, masters)
	for i := range addrs {
		addrs[i] = startClusterNode(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		if err := waitClusterOK(ctx, a); err != nil {
			t.Fatalf("redistest: cluster node %s: %v", a, err)
		}
	}
	return addrs
}

// startClusterNode starts one cluster-enabled node with its cluster bus
// on a free port of its own.
func startClusterNode(t testing.TB) string {
	t.Helper()
	return launch(t, func(s *Server) {
		bus, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		s.extra = []string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", filepath.Join(s.dir, "nodes-"+strconv.Itoa(s.port)+".conf"),
			"--cluster-node-timeout", "5000",
		}
	}).Addr()
}

// waitClusterOK polls CLUSTER INFO on addr until it reports
// cluster_state:ok.
func waitClusterOK(ctx context.Context, addr string) error {
	var d net.Dialer
	last := ""
	for {
		info, err := clusterInfo(ctx, &d, addr)
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = info
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ok within %s: %s", startTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// clusterInfo sends an inline CLUSTER INFO and returns its bulk reply.
func clusterInfo(ctx context.Context, d *net.Dialer, addr string) (string, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("CLUSTER INFO\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(head, "$") {
		return "", fmt.Errorf("CLUSTER INFO answered %q", strings.TrimSpace(head))
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		return "", fmt.Errorf("CLUSTER INFO answered %q", strings.TrimSpace(head))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body), nil
}
