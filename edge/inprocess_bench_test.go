package edge

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/telemetry"
)

// BenchmarkCompleteMiss is the gRPC cache miss of the load harness as a Go
// benchmark: bench/config (API-key auth, quotas, the answer cache on and
// missed, metrics, a JSON access line at info), every request a new
// question, the OpenAI-compatible provider posting to a loopback upstream
// that answers a recorded chat completion. The upstream is a few lines of
// raw HTTP/1.1 that allocate nothing, so allocs/op is the gateway's own:
// "inprocess" calls the service through the in-process client (the path of
// REST and the compatible APIs: every interceptor, no transport), "grpc"
// over a real gRPC connection (client and server both in this process).
func BenchmarkCompleteMiss(b *testing.B) {
	srv, key := startBenchGateway(b)
	grpcAddr, _, _ := srv.Addrs()
	conn, err := grpc.NewClient("passthrough:///"+grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for _, c := range []struct {
		name   string
		client gatewayv1.LLMGatewayClient
	}{
		{"inprocess", srv.local},
		{"grpc", gatewayv1.NewLLMGatewayClient(conn)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var workers atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				id := workers.Add(1)
				ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+key))
				req := &gatewayv1.CompleteRequest{
					Route:    "bench_openai",
					Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER}},
					Caller:   &gatewayv1.Caller{Subject: "bench-" + strconv.FormatInt(id, 10)},
				}
				prefix := c.name + "-" + strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10) + " "
				n := 0
				for pb.Next() {
					n++
					req.Messages[0].Content = prefix + strconv.Itoa(n)
					resp, err := c.client.Complete(ctx, req)
					if err != nil {
						b.Error(err)
						return
					}
					if resp.GetServedFrom() != gatewayv1.ServedFrom_SERVED_FROM_FRESH || resp.GetText() == "" {
						b.Errorf("served from %s, text %q", resp.GetServedFrom(), resp.GetText())
						return
					}
				}
			})
		})
	}
}

// startBenchGateway starts a gateway on bench/config in front of a canned
// upstream and returns it with a client key.
func startBenchGateway(b *testing.B) (*Server, string) {
	b.Helper()
	// As the gateway runs without a trace exporter.
	otel.SetTracerProvider(noop.NewTracerProvider())
	answer, err := os.ReadFile("../providers/openai/testdata/chat_completion.json")
	if err != nil {
		b.Fatal(err)
	}
	upstream := startCannedUpstream(b, answer)
	dir := b.TempDir()
	files, err := filepath.Glob("../bench/config/*.json")
	if err != nil || len(files) == 0 {
		b.Fatalf("bench/config: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		body = bytes.ReplaceAll(body, []byte("127.0.0.1:8090"), []byte(upstream))
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	const key = "gw-bench-key-0123456789abcdef"
	clients := fmt.Sprintf(`{"clients": [{"name": "bench", "key_sha256": %q, "routes": ["*"]}]}`, config.HashKey(key))
	if err := os.WriteFile(filepath.Join(dir, config.ClientsFile), []byte(clients), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	metrics := telemetry.NewMetrics()
	rtOpts := gateway.RuntimeOptions{Getenv: func(string) string { return "" }, Observer: metrics}
	rt, err := gateway.BuildRuntime(cfg, rtOpts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rt.Close)
	mem := cache.NewMemoryStore(cache.MemoryOptions{MaxBytes: 64 << 20, Observer: metrics.CacheObserver()})
	b.Cleanup(func() { _ = mem.Close() })
	level := new(slog.LevelVar)
	srv, err := New(Options{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Limits:        Limits{MaxRequestBytes: 1 << 20},
		ShutdownGrace: 5 * time.Second,
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level})),
		LogLevel:      level,
		Metrics:       metrics,
		Service:       gateway.Options{Cache: mem},
	}, rt)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		srv.Service().Close()
	})
	return srv, key
}

// startCannedUpstream serves every HTTP/1.1 POST on a loopback port with
// body as a JSON 200, reading requests with fixed buffers so that it
// allocates nothing per request. It returns its host:port.
func startCannedUpstream(b *testing.B, body []byte) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	var (
		conns sync.Map
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, nil)
			wg.Go(func() { serveCanned(c, resp) })
		}
	})
	b.Cleanup(func() {
		_ = ln.Close()
		conns.Range(func(c, _ any) bool { _ = c.(net.Conn).Close(); return true })
		wg.Wait()
	})
	return ln.Addr().String()
}

func serveCanned(c net.Conn, resp []byte) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		length := 0
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
			const cl = "content-length:"
			if len(line) > len(cl) && strings.EqualFold(string(line[:len(cl)]), cl) {
				length, _ = strconv.Atoi(strings.TrimSpace(string(line[len(cl):])))
			}
		}
		if _, err := r.Discard(length); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}
