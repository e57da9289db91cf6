package auth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// echoServer answers with the name of the authenticated client in the
// Provider field ("none" when there is none).
type echoServer struct {
	gatewayv1.UnimplementedLLMGatewayServer
}

func clientName(ctx context.Context) string {
	if c, ok := auth.FromContext(ctx); ok {
		return c.Name
	}
	return "none"
}

func (echoServer) Complete(ctx context.Context, req *gatewayv1.CompleteRequest) (*gatewayv1.CompleteResponse, error) {
	return &gatewayv1.CompleteResponse{Provider: clientName(ctx), Route: req.GetRoute()}, nil
}

func (echoServer) Stream(req *gatewayv1.CompleteRequest, ss grpc.ServerStreamingServer[gatewayv1.StreamResponse]) error {
	if err := ss.Send(&gatewayv1.StreamResponse{Delta: "hello"}); err != nil {
		return err
	}
	return ss.Send(&gatewayv1.StreamResponse{Done: true, Provider: clientName(ss.Context()), Route: req.GetRoute()})
}

func (echoServer) GetExperiment(_ context.Context, req *gatewayv1.GetExperimentRequest) (*gatewayv1.GetExperimentResponse, error) {
	return &gatewayv1.GetExperimentResponse{Route: req.GetRoute()}, nil
}

// testServer serves echoServer, health and reflection on 127.0.0.1:0
// behind the logging interceptor (as in the gateway) and the auth
// interceptors, and returns a connection to it and the server's log.
func testServer(t *testing.T, store *auth.KeyStore, opts ...auth.Option) (*grpc.ClientConn, *bytes.Buffer) {
	t.Helper()
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.StartCall, logging.FinishCall)}
	unary, stream := auth.Interceptors(store, opts...)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(logging.UnaryServerInterceptor(logger, logOpts...), unary),
		grpc.ChainStreamInterceptor(logging.StreamServerInterceptor(logger, logOpts...), stream),
	)
	gatewayv1.RegisterLLMGatewayServer(srv, echoServer{})
	grpc_health_v1.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return conn, &logBuf
}

func newStore(t *testing.T) (ks *auth.KeyStore, railsKey, opsKey string) {
	t.Helper()
	railsKey, railsHash := config.NewKey()
	opsKey, opsHash := config.NewKey()
	ks, err := auth.NewKeyStore(&config.Clients{Clients: []config.Client{
		{Name: "rails-app", KeySHA256: railsHash, Routes: []string{"career_advice"}},
		{Name: "ops", KeySHA256: opsHash, Routes: []string{"*"}, AllowModelOverride: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return ks, railsKey, opsKey
}

func routeReq(route string) *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{Route: route,
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "hi"}}}
}

func overrideReq() *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{Model: &gatewayv1.ModelOverride{Provider: "openai", Model: "gpt-4o-mini"},
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "hi"}}}
}

// call makes req as a unary Complete and as a Stream with metadata md, and
// returns the client name each saw and each one's error. Both must agree.
func call(t *testing.T, conn *grpc.ClientConn, req *gatewayv1.CompleteRequest, md ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	c := gatewayv1.NewLLMGatewayClient(conn)

	var unaryName, streamName string
	resp, unaryErr := c.Complete(ctx, req)
	if unaryErr == nil {
		unaryName = resp.GetProvider()
	}
	var streamErr error
	if st, err := c.Stream(ctx, req); err != nil {
		streamErr = err
	} else {
		for {
			m, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				streamErr = err
				break
			}
			if m.GetDone() {
				streamName = m.GetProvider()
			}
		}
	}
	if status.Code(unaryErr) != status.Code(streamErr) || unaryName != streamName {
		t.Fatalf("unary and stream disagree: unary %q %v, stream %q %v", unaryName, unaryErr, streamName, streamErr)
	}
	return unaryName, unaryErr
}

// reason returns the ErrorInfo reason of err, checking its domain.
func reason(t *testing.T, err error) string {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetDomain() != "llmgateway" {
				t.Errorf("ErrorInfo domain = %q", info.GetDomain())
			}
			return info.GetReason()
		}
	}
	return ""
}

// assertNoSecret fails when text contains any of the secrets.
func assertNoSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains an API key: %s", what, text)
		}
	}
}

func TestInterceptors(t *testing.T) {
	ks, railsKey, opsKey := newStore(t)
	conn, logBuf := testServer(t, ks)
	wrongKey, _ := config.NewKey()

	tests := []struct {
		name       string
		req        *gatewayv1.CompleteRequest
		md         []string
		wantCode   codes.Code
		wantReason string
		wantClient string
		wantInMsg  string
	}{
		{"no key", routeReq("career_advice"), nil,
			codes.Unauthenticated, gwerr.ReasonMissingAPIKey, "", "no authorization or x-api-key header"},
		{"unknown key", routeReq("career_advice"), []string{"authorization", "Bearer " + wrongKey},
			codes.Unauthenticated, gwerr.ReasonInvalidAPIKey, "", "invalid API key"},
		{"unknown key in x-api-key", routeReq("career_advice"), []string{"x-api-key", wrongKey},
			codes.Unauthenticated, gwerr.ReasonInvalidAPIKey, "", "invalid API key"},
		{"bearer key", routeReq("career_advice"), []string{"authorization", "Bearer " + railsKey},
			codes.OK, "", "rails-app", ""},
		{"bearer is case-insensitive", routeReq("career_advice"), []string{"authorization", "bearer " + railsKey},
			codes.OK, "", "rails-app", ""},
		{"x-api-key", routeReq("career_advice"), []string{"x-api-key", railsKey},
			codes.OK, "", "rails-app", ""},
		{"both headers, same key", routeReq("career_advice"),
			[]string{"x-api-key", railsKey, "authorization", "Bearer " + railsKey},
			codes.OK, "", "rails-app", ""},
		{"both headers, different keys", routeReq("career_advice"),
			[]string{"x-api-key", railsKey, "authorization", "Bearer " + opsKey},
			codes.Unauthenticated, gwerr.ReasonInvalidAPIKey, "", "more than one API key"},
		{"key without scheme", routeReq("career_advice"), []string{"authorization", railsKey},
			codes.Unauthenticated, gwerr.ReasonMissingAPIKey, "", `not "Bearer <key>"`},
		{"basic auth", routeReq("career_advice"), []string{"authorization", "Basic " + railsKey},
			codes.Unauthenticated, gwerr.ReasonMissingAPIKey, "", `not "Bearer <key>"`},
		{"empty bearer", routeReq("career_advice"), []string{"authorization", "Bearer "},
			codes.Unauthenticated, gwerr.ReasonMissingAPIKey, "", ""},
		{"route not allowed", routeReq("resume_review"), []string{"authorization", "Bearer " + railsKey},
			codes.PermissionDenied, gwerr.ReasonRouteNotAllowed, "", `client "rails-app" may not use route "resume_review"`},
		{"every route", routeReq("resume_review"), []string{"authorization", "Bearer " + opsKey},
			codes.OK, "", "ops", ""},
		{"override not allowed", overrideReq(), []string{"x-api-key", railsKey},
			codes.PermissionDenied, gwerr.ReasonModelOverrideNotAllowed, "", `field "model"`},
		{"override allowed", overrideReq(), []string{"x-api-key", opsKey},
			codes.OK, "", "ops", ""},
		{"empty route is left to validation", routeReq(""), []string{"x-api-key", railsKey},
			codes.OK, "", "rails-app", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, err := call(t, conn, tt.req, tt.md...)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.wantCode)
			}
			if err == nil {
				if name != tt.wantClient {
					t.Fatalf("handler saw client %q, want %q", name, tt.wantClient)
				}
				return
			}
			if got := reason(t, err); got != tt.wantReason {
				t.Errorf("reason = %q, want %q", got, tt.wantReason)
			}
			if !strings.Contains(status.Convert(err).Message(), tt.wantInMsg) {
				t.Errorf("message %q does not contain %q", status.Convert(err).Message(), tt.wantInMsg)
			}
			whole := prototext.Format(status.Convert(err).Proto())
			assertNoSecret(t, "error", whole, railsKey, opsKey, wrongKey,
				strings.TrimPrefix(railsKey, config.APIKeyPrefix), strings.TrimPrefix(wrongKey, config.APIKeyPrefix))
		})
	}
	t.Run("GetExperiment of a route not allowed", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", railsKey)
		c := gatewayv1.NewLLMGatewayClient(conn)
		_, err := c.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "resume_review"})
		if status.Code(err) != codes.PermissionDenied || reason(t, err) != gwerr.ReasonRouteNotAllowed {
			t.Fatalf("err = %v", err)
		}
		if _, err := c.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "career_advice"}); err != nil {
			t.Fatal(err)
		}
	})
	if logBuf.Len() == 0 {
		t.Fatal("nothing was logged; the log check would prove nothing")
	}
	assertNoSecret(t, "server log", logBuf.String(), railsKey, opsKey, wrongKey)
}

// A stream refused for its route fails before it sends anything.
func TestStreamRouteRefusedBeforeFirstMessage(t *testing.T) {
	ks, railsKey, _ := newStore(t)
	conn, _ := testServer(t, ks)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", railsKey)
	st, err := gatewayv1.NewLLMGatewayClient(conn).Stream(ctx, routeReq("resume_review"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Recv()
	if status.Code(err) != codes.PermissionDenied || reason(t, err) != gwerr.ReasonRouteNotAllowed {
		t.Fatalf("first Recv = %v, %v; want PermissionDenied", m, err)
	}
}

func TestHealthAndReflectionNeedNoKey(t *testing.T) {
	ks, _, _ := newStore(t)
	conn, _ := testServer(t, ks)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("health check without a key = %v, %v", resp, err)
	}

	st, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	r, err := st.Recv()
	if err != nil || len(r.GetListServicesResponse().GetService()) == 0 {
		t.Fatalf("reflection without a key = %v, %v", r, err)
	}
	_ = st.CloseSend()
}

func TestDisabledLetsEveryoneInAsAnonymous(t *testing.T) {
	conn, _ := testServer(t, auth.DisabledKeyStore())
	wrongKey, _ := config.NewKey()
	for name, md := range map[string][]string{
		"no key":  nil,
		"bad key": {"authorization", "Bearer " + wrongKey},
	} {
		for _, req := range []*gatewayv1.CompleteRequest{routeReq("resume_review"), overrideReq()} {
			got, err := call(t, conn, req, md...)
			if err != nil || got != "anonymous" {
				t.Fatalf("%s: client %q, err %v; want anonymous", name, got, err)
			}
		}
	}
}

func TestStoreFuncReloads(t *testing.T) {
	first, oldKey, _ := newStore(t)
	second, newKey, _ := newStore(t)
	var current atomic.Pointer[auth.KeyStore]
	current.Store(first)
	conn, _ := testServer(t, nil, auth.WithStoreFunc(current.Load))

	if _, err := call(t, conn, routeReq("career_advice"), "x-api-key", oldKey); err != nil {
		t.Fatal(err)
	}
	current.Store(second)
	if _, err := call(t, conn, routeReq("career_advice"), "x-api-key", oldKey); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("old key after reload: %v, want Unauthenticated", err)
	}
	if _, err := call(t, conn, routeReq("career_advice"), "x-api-key", newKey); err != nil {
		t.Fatal(err)
	}
	current.Store(nil)
	if _, err := call(t, conn, routeReq("career_advice"), "x-api-key", newKey); status.Code(err) != codes.Internal {
		t.Fatalf("nil store: %v, want Internal (fail closed)", err)
	}
}

func TestForcedVariant(t *testing.T) {
	ks, railsKey, opsKey := newStore(t)
	forced := func(r *gatewayv1.CompleteRequest) string { return r.GetVariables()["force_variant"] }
	conn, _ := testServer(t, ks, auth.WithForcedVariant(forced))
	req := routeReq("career_advice")
	req.Variables = map[string]string{"force_variant": "claude_haiku"}

	_, err := call(t, conn, req, "x-api-key", railsKey)
	if status.Code(err) != codes.PermissionDenied || reason(t, err) != gwerr.ReasonForcedVariantNotAllowed {
		t.Fatalf("forced variant without permission: %v", err)
	}
	if _, err := call(t, conn, routeReq("career_advice"), "x-api-key", railsKey); err != nil {
		t.Fatalf("request that forces nothing: %v", err)
	}
	// ops may use every route but was not given allow_forced_variant.
	if _, err := call(t, conn, req, "x-api-key", opsKey); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("ops forcing a variant: %v", err)
	}
}
