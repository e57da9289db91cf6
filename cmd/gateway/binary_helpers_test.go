package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// writeConfig writes files (name to body) into a new temporary directory
// and returns it.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		writeConfigFile(t, dir, name, body)
	}
	return dir
}

// writeConfigFile writes one file of a configuration directory.
func writeConfigFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dial connects a gRPC client to the gateway at addr, without TLS; the
// connection is closed when the test ends.
func dial(t *testing.T, addr string) gatewayv1.LLMGatewayClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return gatewayv1.NewLLMGatewayClient(conn)
}

// connect dials the gateway's gRPC port and gives a context for the calls
// that ends after timeout or when the test ends.
func (p *process) connect(t *testing.T, timeout time.Duration) (gatewayv1.LLMGatewayClient, context.Context) {
	t.Helper()
	client := dial(t, p.grpc)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return client, ctx
}

// startSim starts a simulator, stopped when the test ends, and returns it
// and its base URL.
func startSim(t *testing.T, cfg sim.Config) (*sim.Server, string) {
	t.Helper()
	srv, url, stop, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv, url
}
