package edge

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/telemetry"
)

// The interceptor benchmarks measure what each link of the chain adds to a
// unary Complete call: each interceptor is called directly around a
// handler that returns a fixed answer, as the gRPC server would call it
// (no transport, no marshalling). Run them with
//
//	go test -run '^$' -bench Interceptor -benchmem ./edge/

const benchKey = "llmgw_benchmark_key_0123456789"

// benchSetup is a chain built as [New] builds it, on a runtime with one
// client and a quota limit that never trips, with logs discarded.
type benchSetup struct {
	chain  Chain
	ctx    context.Context // incoming metadata with the client's key
	req    *gatewayv1.CompleteRequest
	info   *grpc.UnaryServerInfo
	client *auth.Client // the client benchKey authenticates
}

func newBenchSetup(b *testing.B) *benchSetup {
	b.Helper()
	return newBenchSetupLog(b, slog.New(slog.DiscardHandler))
}

// newBenchSetupLog is newBenchSetup logging to log.
func newBenchSetupLog(b *testing.B, log *slog.Logger) *benchSetup {
	b.Helper()
	ks, err := auth.NewKeyStore(&config.Clients{Clients: []config.Client{
		{Name: "bench", KeySHA256: config.HashKey(benchKey), Routes: []string{config.AllRoutes}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	client, ok := ks.Lookup(benchKey)
	if !ok {
		b.Fatal("the benchmark key authenticates no client")
	}
	validUnary, validStream, err := NewValidationInterceptors(DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	rt := &gateway.Runtime{Keys: ks, Config: &config.Config{RateLimits: config.RateLimits{Limits: []config.Limit{
		{Name: "never", Scope: []string{config.ScopeUser}, RequestsPerMinute: 1 << 40},
	}}}}
	svc, owned := gateway.New(rt, gateway.Options{Logger: log, Metrics: telemetry.NewMetrics()})
	b.Cleanup(func() {
		svc.CloseRecorders()
		for _, c := range owned {
			_ = c.Close()
		}
	})
	quotaUnary, quotaStream := svc.QuotaInterceptors()
	chain := defaultChain(log, svc, telemetry.NewMetrics()).
		Insert("auth", Interceptor{"validation", validUnary, validStream}).
		Insert("validation", Interceptor{"quota", quotaUnary, quotaStream})
	stopper := newCallStopper()
	chain = chain.Insert("logging", Interceptor{"shutdown", stopper.unary, stopper.stream})
	return &benchSetup{
		chain: chain,
		ctx: metadata.NewIncomingContext(context.Background(),
			metadata.Pairs(auth.HeaderAuthorization, "Bearer "+benchKey)),
		req: &gatewayv1.CompleteRequest{
			Route:    "openai_only",
			Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"}},
			Caller:   &gatewayv1.Caller{Subject: "user-1"},
			Params:   &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
		},
		info:   &grpc.UnaryServerInfo{FullMethod: gatewayv1.LLMGateway_Complete_FullMethodName},
		client: client,
	}
}

// unary returns the chain's interceptor named name.
func (s *benchSetup) unary(b *testing.B, name string) grpc.UnaryServerInterceptor {
	b.Helper()
	for _, it := range s.chain {
		if it.Name == name {
			return it.Unary
		}
	}
	b.Fatalf("no interceptor %q in %v", name, s.chain.Names())
	return nil
}

// benchAnswer is the trivial handler's answer.
var benchAnswer = &gatewayv1.CompleteResponse{
	Text:       "Learn SQL.",
	Usage:      &gatewayv1.Usage{InputTokens: 12, OutputTokens: 3},
	Provider:   "openai",
	Model:      "gpt-4o-mini",
	Route:      "openai_only",
	CostUsd:    0.0000036,
	ServedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH,
}

func trivialHandler(context.Context, any) (any, error) { return benchAnswer, nil }

func runUnary(b *testing.B, s *benchSetup, it grpc.UnaryServerInterceptor) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := it(s.ctx, s.req, s.info, trivialHandler); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInterceptor(b *testing.B) {
	for _, name := range []string{"recovery", "metrics", "logging", "shutdown", "auth", "validation", "quota", "status"} {
		b.Run(name, func(b *testing.B) {
			s := newBenchSetup(b)
			it := s.unary(b, name)
			if name != "auth" {
				// The links after auth read the client it attaches: give
				// them the one it would have found.
				s.ctx = auth.NewContext(s.ctx, s.client)
			}
			runUnary(b, s, it)
		})
	}
	// The access line written out, as JSON, at the default level.
	b.Run("logging-json", func(b *testing.B) {
		s := newBenchSetupLog(b, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		s.ctx = auth.NewContext(s.ctx, s.client)
		runUnary(b, s, s.unary(b, "logging"))
	})
	b.Run("chain", func(b *testing.B) {
		s := newBenchSetup(b)
		runUnary(b, s, chainUnary(s.chain))
	})
}

// chainUnary composes the chain's unary interceptors into one, outermost
// first, as grpc.ChainUnaryInterceptor does.
func chainUnary(c Chain) grpc.UnaryServerInterceptor {
	var its []grpc.UnaryServerInterceptor
	for _, it := range c {
		if it.Unary != nil {
			its = append(its, it.Unary)
		}
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		var next func(i int) grpc.UnaryHandler
		next = func(i int) grpc.UnaryHandler {
			if i == len(its) {
				return h
			}
			return func(ctx context.Context, req any) (any, error) { return its[i](ctx, req, info, next(i+1)) }
		}
		return next(0)(ctx, req)
	}
}
