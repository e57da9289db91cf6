package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/telemetry"
)

// recorder notes which links of the chain a call passes, in order.
type recorder struct {
	mu    sync.Mutex
	names []string
}

func (r *recorder) note(name string) {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
}

// take returns the names noted since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.names
	r.names = nil
	return n
}

// wrap is c with every link noting its name when a call enters it.
func (r *recorder) wrap(c Chain) Chain {
	out := make(Chain, len(c))
	for i, it := range c {
		out[i] = Interceptor{Name: it.Name}
		if it.Unary != nil {
			u := it.Unary
			out[i].Unary = func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				r.note(it.Name)
				return u(ctx, req, info, h)
			}
		}
		if it.Stream != nil {
			s := it.Stream
			out[i].Stream = func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				r.note(it.Name)
				return s(srv, ss, info, h)
			}
		}
	}
	return out
}

// TestEveryEdgeRunsTheWholeChainInOrder: a gRPC call, a REST call and a
// compatible-API call, unary and streamed, each pass every link of the
// chain (recovery, metrics, access log, shutdown, auth, validation,
// quota, status), in the same order.
func TestEveryEdgeRunsTheWholeChainInOrder(t *testing.T) {
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := gateway.BuildRuntime(cfg, gateway.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Metrics: telemetry.NewMetrics(), ShutdownGrace: 5 * time.Second}, rt)
	if err != nil {
		t.Fatal(err)
	}
	// The server as New built it, with every link recording.
	rec := &recorder{}
	srv.chain = rec.wrap(srv.chain)
	srv.local = newLocalClient(srv.service, srv.chain)
	srv.grpc.Stop() // the server New built, never started
	srv.grpc = grpc.NewServer(srv.chain.Options()...)
	gatewayv1.RegisterLLMGatewayServer(srv.grpc, srv.service)
	grpc_health_v1.RegisterHealthServer(srv.grpc, srv.health)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		srv.Service().Close()
	})
	want := []string{"recovery", "metrics", "logging", "shutdown", "auth", "validation", "quota", "status"}
	if got := srv.chain.Names(); !slices.Equal(got, want) {
		t.Fatalf("chain %v, want %v", got, want)
	}

	grpcAddr, httpAddr, _ := srv.Addrs()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := gatewayv1.NewLLMGatewayClient(conn)
	req := &gatewayv1.CompleteRequest{Route: "career_advice",
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"}}}
	post := func(path, body string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+httpAddr+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(hreq)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
		return nil
	}
	const restBody = `{"route": "career_advice", "messages": [{"role": "ROLE_USER", "content": "How do I become a data engineer?"}]}`
	calls := []struct {
		name string
		call func() error
	}{
		{"gRPC Complete", func() error { _, err := client.Complete(context.Background(), req); return err }},
		{"gRPC Stream", func() error {
			st, err := client.Stream(context.Background(), req)
			if err != nil {
				return err
			}
			for {
				if _, err := st.Recv(); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		}},
		{"REST complete", func() error { return post("/v1/complete", restBody) }},
		{"REST stream", func() error { return post("/v1/stream", restBody) }},
		{"OpenAI chat", func() error {
			return post("/v1/chat/completions", `{"model": "career_advice", "messages": [{"role": "user", "content": "Hi"}]}`)
		}},
		{"OpenAI chat stream", func() error {
			return post("/v1/chat/completions", `{"model": "career_advice", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`)
		}},
		{"Anthropic messages", func() error {
			return post("/v1/messages", `{"model": "career_advice", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}`)
		}},
		{"Anthropic messages stream", func() error {
			return post("/v1/messages", `{"model": "career_advice", "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`)
		}},
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := rec.take(); !slices.Equal(got, want) {
			t.Errorf("%s passed %v, want %v", c.name, got, want)
		}
	}
}
