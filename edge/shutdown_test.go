package edge_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestShutdownPastGraceEndsCallsWithStatus stops a gateway whose calls
// outlast its grace period: a gRPC stream, a REST stream and a unary call
// waiting on a hanging provider. Each must end with UNAVAILABLE and reason
// SHUTTING_DOWN (the REST stream with its error event), not with a cut
// connection, and shutdown must take the grace period plus at most the
// second given to say so.
func TestShutdownPastGraceEndsCallsWithStatus(t *testing.T) {
	const grace = 300 * time.Millisecond
	// Streams of about 4s, far longer than the grace period.
	g := startGatewayOpts(t, sim.Config{InterToken: 100 * time.Millisecond, AnswerTokens: 40},
		map[string]string{config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes},
		edge.Options{ShutdownGrace: grace})
	if err := g.anthropic.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}

	st, err := g.client.Stream(ctxT(t), request("openai_only", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Post("http://"+g.httpAddr+"/v1/stream", "application/json",
		strings.NewReader(`{"route":"openai_only","messages":[{"role":"ROLE_USER","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sse := bufio.NewReader(resp.Body)
	if first, err := sse.ReadString('\n'); err != nil || !strings.HasPrefix(first, "data: ") {
		t.Fatalf("first SSE line %q, %v", first, err)
	}

	unary := make(chan error, 1)
	go func() {
		_, err := g.client.Complete(ctxT(t), request("anthropic_only", ""))
		unary <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for g.anthropic.Stats().InFlight == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the unary call never reached the provider")
		}
		time.Sleep(5 * time.Millisecond)
	}

	start := time.Now()
	if err := g.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > grace+2*time.Second {
		t.Errorf("shutdown took %v with a grace period of %v", took, grace)
	}

	shuttingDown := func(what string, err error) {
		t.Helper()
		s := status.Convert(err)
		reason := ""
		for _, d := range s.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				reason = info.GetReason()
			}
		}
		if s.Code() != codes.Unavailable || reason != "SHUTTING_DOWN" {
			t.Errorf("%s ended with %v (reason %q), want Unavailable, SHUTTING_DOWN", what, err, reason)
		}
	}
	for {
		if _, err = st.Recv(); err != nil {
			break
		}
	}
	shuttingDown("the gRPC stream", err)
	shuttingDown("the unary call", <-unary)

	rest, err := io.ReadAll(sse)
	if err != nil {
		t.Fatalf("the REST stream was cut: %v", err)
	}
	if !strings.Contains(string(rest), "event: error\ndata: ") || !strings.Contains(string(rest), "SHUTTING_DOWN") {
		t.Errorf("the REST stream ended without a SHUTTING_DOWN error event; its end:\n%s", rest[max(0, len(rest)-500):])
	}
}

// TestShutdownDelayKeepsServingWhileNotReady stops a gateway with a
// shutdown delay: readiness turns off at once, yet calls sent during the
// delay (by a load balancer that has not probed again) are still answered,
// over gRPC and REST; after it, new calls are refused.
func TestShutdownDelayKeepsServingWhileNotReady(t *testing.T) {
	const delay = 2 * time.Second
	g := startGatewayOpts(t, sim.Config{},
		map[string]string{config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes},
		edge.Options{ShutdownDelay: delay})
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- g.srv.Shutdown(context.Background()) }()

	deadline := time.Now().Add(time.Second)
	for getStatus(t, "http://"+g.adminAddr+"/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("readyz still ready during shutdown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := g.client.Complete(ctxT(t), request("openai_only", "")); err != nil {
		t.Fatalf("gRPC call during the delay: %v", err)
	}
	resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json",
		strings.NewReader(`{"route":"openai_only","messages":[{"role":"ROLE_USER","content":"hi"}]}`))
	if err != nil {
		t.Fatalf("REST call during the delay: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("REST call during the delay: %s", resp.Status)
	}

	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("shutdown took %v, less than its %v delay", took, delay)
	}
	if _, err := g.client.Complete(ctxT(t), request("openai_only", "")); err == nil {
		t.Fatal("call accepted after shutdown")
	}
}
