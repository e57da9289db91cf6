package edge

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers"
)

// panicky is a provider whose every call panics.
type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (panicky) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	panic("provider bug")
}
func (panicky) Stream(context.Context, *providers.Request) (providers.Stream, error) {
	panic("provider bug")
}

// panickyKind is the provider kind of [panicky].
const panickyKind = "panicky-test"

func init() {
	providers.Register(panickyKind, func(providers.Settings) (providers.Provider, error) { return panicky{}, nil })
}

func TestPanicBecomesInternalAndServerSurvives(t *testing.T) {
	cfg := &config.Config{
		Providers: config.ProviderSettings{
			Providers: map[string]config.Provider{"panicky": {Kind: panickyKind}},
			Models:    []config.Model{{Name: "m", Provider: "panicky"}},
		},
		Routes: config.ABTestConfig{Routes: map[string]config.Route{
			"r": {Variants: []config.Variant{{Name: "v", Weight: 1, Target: config.Target{Provider: "panicky", Model: "m"}}}},
		}},
	}
	rt, err := gateway.BuildRuntime(cfg, gateway.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()
	addr, _, _ := srv.Addrs()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	client := gatewayv1.NewLLMGatewayClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "hi"}}}
	for range 2 { // the second call proves the server survived the first
		_, err := client.Complete(ctx, req)
		if status.Code(err) != codes.Internal || status.Convert(err).Message() != "internal error" {
			t.Fatalf("unary: err = %v, want Internal", err)
		}
		st, err := client.Stream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); status.Code(err) != codes.Internal {
			t.Fatalf("stream: err = %v, want Internal", err)
		}
	}
}
