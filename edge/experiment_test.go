package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/careerpath/llmgateway/experiment"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/routing"
)

// experimentsOnly serves just the experiment RPCs, as the gateway's
// Service will by delegation.
type experimentsOnly struct {
	gatewayv1.UnimplementedLLMGatewayServer
	e *core.ExperimentService
}

func (w experimentsOnly) Feedback(ctx context.Context, r *gatewayv1.FeedbackRequest) (*gatewayv1.FeedbackResponse, error) {
	return w.e.Feedback(ctx, r)
}

func (w experimentsOnly) GetExperiment(ctx context.Context, r *gatewayv1.GetExperimentRequest) (*gatewayv1.GetExperimentResponse, error) {
	return w.e.GetExperiment(ctx, r)
}

// statusInterceptor maps domain errors with edge.Status, as the
// gateway's chain does.
func statusInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if err != nil {
		return nil, gwerr.Status(err).Err()
	}
	return resp, nil
}

// serveExperiments serves e on a real socket and returns a client.
func serveExperiments(t *testing.T, e *core.ExperimentService) (gatewayv1.LLMGatewayClient, *grpc.ClientConn) {
	t.Helper()
	t.Cleanup(e.Close) // after the server has stopped: what is queued is written
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(statusInterceptor))
	gatewayv1.RegisterLLMGatewayServer(gs, experimentsOnly{e: e})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
		<-done
	})
	return gatewayv1.NewLLMGatewayClient(conn), conn
}

// stores are the experiment stores the end-to-end tests run against.
func stores() map[string]func(t *testing.T) experiment.Store {
	return map[string]func(t *testing.T) experiment.Store{
		"memory": func(*testing.T) experiment.Store {
			return experiment.NewMemoryStore(experiment.MemoryOptions{})
		},
		"redis": func(t *testing.T) experiment.Store {
			c := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
			t.Cleanup(func() { _ = c.Close() })
			return experiment.NewRedisStore(c, experiment.RedisOptions{})
		},
	}
}

// decision is where the router sent a request.
func decision(variant, model string) *routing.Decision {
	return &routing.Decision{Route: "career_advice", Variant: variant, Target: routing.Target{Model: model}}
}

func answer(id, provider, model string) *gatewayv1.CompleteResponse {
	return &gatewayv1.CompleteResponse{
		Id: id, Provider: provider, Model: model, Route: "career_advice",
		Usage:      &gatewayv1.Usage{InputTokens: 100, OutputTokens: 50},
		CostUsd:    0.002,
		ServedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH,
		Step:       gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY,
	}
}

func statusOf(t *testing.T, err error) (*status.Status, *errdetails.ErrorInfo, *errdetails.BadRequest) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a status: %v", err)
	}
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		}
	}
	return st, info, br
}

func TestExperimentService(t *testing.T) {
	for name, newStore := range stores() {
		t.Run(name, func(t *testing.T) {
			testExperimentService(t, newStore(t))
		})
	}
}

func testExperimentService(t *testing.T, st experiment.Store) {
	e := core.NewExperimentService(st, core.ExperimentOptions{
		KnownRoute: func(r string) bool { return r == "career_advice" || r == "resume_review" },
	})
	client, _ := serveExperiments(t, e)
	ctx := context.Background()

	// Before any traffic: a configured route has an empty report, an
	// unknown one is not found.
	rep, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "resume_review"})
	if err != nil || len(rep.GetVariants()) != 0 || rep.GetRoute() != "resume_review" {
		t.Fatalf("report of a configured route without traffic: %v, %v", rep, err)
	}
	_, err = client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "no_such_route"})
	if st, info, _ := statusOf(t, err); st.Code() != codes.NotFound || info.GetReason() != "UNKNOWN_EXPERIMENT" {
		t.Errorf("unknown route: %v %v", st.Code(), info)
	}

	// Traffic: 10 answers per variant; gpt's users like 8, claude's 3.
	gpt, claude := decision("gpt", "gpt-4o-mini"), decision("claude", "claude-3-5-haiku-latest")
	for i := range 10 {
		id := "gpt-" + string(rune('a'+i))
		e.RecordComplete(ctx, gpt, answer(id, "openai", "gpt-4o-mini-2024-07-18"), nil, time.Duration(100+i)*time.Millisecond)
		id = "claude-" + string(rune('a'+i))
		e.RecordComplete(ctx, claude, answer(id, "anthropic", "claude-3-5-haiku-20241022"), nil, time.Duration(200+i)*time.Millisecond)
	}
	// A cache hit, a request rescued by the backup provider, and a failure.
	hit := answer("gpt-hit", "openai", "gpt-4o-mini")
	hit.ServedFrom, hit.Step, hit.CostUsd = gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT, gatewayv1.FailoverStep_FAILOVER_STEP_CACHE, 0
	e.RecordComplete(ctx, gpt, hit, nil, time.Millisecond)
	rescued := answer("gpt-rescued", "anthropic", "claude-3-5-haiku-latest")
	rescued.Step = gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP
	rescued.FailedAttempts = []*gatewayv1.FailedAttempt{{Provider: "openai", Step: gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY, ErrorKind: "overloaded"}}
	e.RecordComplete(ctx, gpt, rescued, nil, 3*time.Second)
	e.RecordComplete(ctx, claude, nil, &providers.Error{Kind: providers.KindRateLimited, Provider: "anthropic"}, 50*time.Millisecond)
	e.RecordStream(ctx, gpt, nil, context.Canceled, time.Second)
	// A model override is no experiment.
	e.RecordComplete(ctx, &routing.Decision{}, answer("direct", "openai", "gpt-4o"), nil, time.Second)

	for i := range 10 {
		fb, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{
			ResponseId: "gpt-" + string(rune('a'+i)),
			Outcome:    &gatewayv1.FeedbackRequest_Success{Success: i < 8},
		})
		if err != nil {
			t.Fatal(err)
		}
		if fb.GetVariant() != "gpt" || fb.GetRoute() != "career_advice" || fb.GetExperiment() != "career_advice" || !fb.GetCounted() || fb.GetReplaced() {
			t.Fatalf("feedback response %v", fb)
		}
		if _, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{
			ResponseId: "claude-" + string(rune('a'+i)),
			Outcome:    &gatewayv1.FeedbackRequest_Success{Success: i < 3},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A change of mind: the last verdict wins, counted once.
	fb, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "gpt-j", Outcome: &gatewayv1.FeedbackRequest_Success{Success: true}})
	if err != nil || !fb.GetReplaced() {
		t.Fatalf("second verdict: %v, %v", fb, err)
	}
	if _, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "claude-a", Outcome: &gatewayv1.FeedbackRequest_Score{Score: 4}}); err != nil {
		t.Fatal(err)
	}
	// Feedback on a cache hit or a rescued answer is kept out.
	for _, id := range []string{"gpt-hit", "gpt-rescued"} {
		fb, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: id, Outcome: &gatewayv1.FeedbackRequest_Success{Success: false}})
		if err != nil || fb.GetCounted() {
			t.Errorf("feedback on %s: %v, %v; want accepted, not counted", id, fb, err)
		}
	}

	rep, err = client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "career_advice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.GetVariants()) != 2 || rep.GetVariants()[0].GetVariant() != "claude" || rep.GetLeader() != "gpt" {
		t.Fatalf("report: %v", rep)
	}
	c, g := rep.GetVariants()[0], rep.GetVariants()[1]
	// gpt: 10 fresh + rescued + canceled stream = 12 requests, 2 errors;
	// verdicts 9 of 10 after the change of mind.
	if g.GetRequests() != 12 || g.GetErrors() != 2 || g.GetCacheHits() != 1 ||
		g.GetErrorsByClass()["overloaded"] != 1 || g.GetErrorsByClass()["canceled"] != 1 ||
		g.GetSuccesses() != 9 || g.GetFailures() != 1 || g.GetFeedbackCount() != 10 ||
		g.GetModels()["openai/gpt-4o-mini-2024-07-18"] != 10 || g.GetModels()["anthropic/claude-3-5-haiku-latest"] != 1 {
		t.Errorf("gpt stats: %v", g)
	}
	// Latency covers the 10 successes only (100–109 ms), not the 3 s
	// rescue or the 1 ms cache hit.
	if p50, p95 := g.GetLatencyP50().AsDuration(), g.GetLatencyP95().AsDuration(); p50 < 95*time.Millisecond || p95 > 115*time.Millisecond {
		t.Errorf("gpt latency p50 %v p95 %v", p50, p95)
	}
	if math.Abs(g.GetCostUsd()-11*0.002) > 1e-9 || math.Abs(g.GetCostPerRequestUsd()-11*0.002/12) > 1e-9 || g.GetInputTokens() != 1100 {
		t.Errorf("gpt cost %v per request %v input tokens %d", g.GetCostUsd(), g.GetCostPerRequestUsd(), g.GetInputTokens())
	}
	// claude: verdicts 2 of 9 binary plus one score.
	if c.GetRequests() != 11 || c.GetErrorsByClass()["rate_limited"] != 1 || c.GetSuccesses() != 2 || c.GetFailures() != 7 ||
		c.GetScoreCount() != 1 || c.GetMeanScore() != 4 || c.GetFeedbackCount() != 10 {
		t.Errorf("claude stats: %v", c)
	}
	// 9/10 against 2/9: p̂ = 11/19 = .5789, SE = √(.5789 × .4211 × (1/10 + 1/9)) = .2268,
	// z = (.9 − .2222)/.2268 = 2.988, p = .0028.
	if len(rep.GetComparisons()) != 1 {
		t.Fatalf("comparisons: %v", rep.GetComparisons())
	}
	cmp := rep.GetComparisons()[0]
	if cmp.GetLeader() != "gpt" || cmp.GetVariant() != "claude" || math.Abs(cmp.GetZ()-2.988) > 2e-3 ||
		math.Abs(cmp.GetPValue()-0.0028) > 2e-4 || !cmp.GetSignificant() || !cmp.GetSmallSample() ||
		cmp.GetProbabilityToBeBest() < 0.99 {
		t.Errorf("comparison: %v", cmp)
	}
	if pb := g.GetProbabilityToBeBest(); math.Abs(pb-cmp.GetProbabilityToBeBest()) > 1e-9 {
		t.Errorf("two variants: P(gpt best) %v differs from P(gpt > claude) %v", pb, cmp.GetProbabilityToBeBest())
	}
}

func TestExperimentServiceErrors(t *testing.T) {
	e := core.NewExperimentService(experiment.NewMemoryStore(experiment.MemoryOptions{}), core.ExperimentOptions{})
	client, _ := serveExperiments(t, e)
	ctx := context.Background()
	e.RecordComplete(ctx, decision("gpt", "gpt-4o-mini"), answer("known", "openai", "gpt-4o-mini"), nil, time.Second)

	tests := []struct {
		name   string
		req    *gatewayv1.FeedbackRequest
		code   codes.Code
		reason string
		fields []string
	}{
		{"nothing", &gatewayv1.FeedbackRequest{}, codes.InvalidArgument, "INVALID_REQUEST", []string{"response_id", "outcome"}},
		{"long id", &gatewayv1.FeedbackRequest{ResponseId: strings.Repeat("x", 257), Outcome: &gatewayv1.FeedbackRequest_Success{}},
			codes.InvalidArgument, "INVALID_REQUEST", []string{"response_id"}},
		{"NaN score", &gatewayv1.FeedbackRequest{ResponseId: "known", Outcome: &gatewayv1.FeedbackRequest_Score{Score: math.NaN()}},
			codes.InvalidArgument, "INVALID_REQUEST", []string{"score"}},
		{"huge score", &gatewayv1.FeedbackRequest{ResponseId: "known", Outcome: &gatewayv1.FeedbackRequest_Score{Score: -1e7}},
			codes.InvalidArgument, "INVALID_REQUEST", []string{"score"}},
		{"unknown id", &gatewayv1.FeedbackRequest{ResponseId: "never-issued", Outcome: &gatewayv1.FeedbackRequest_Success{Success: true}},
			codes.NotFound, "UNKNOWN_RESPONSE", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Feedback(ctx, tc.req)
			st, info, br := statusOf(t, err)
			if st.Code() != tc.code || info.GetReason() != tc.reason || info.GetDomain() != gwerr.Domain {
				t.Fatalf("status %v %q, info %v; want %v %s", st.Code(), st.Message(), info, tc.code, tc.reason)
			}
			var fields []string
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
			if strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("field violations %v, want %v", fields, tc.fields)
			}
		})
	}
	for _, route := range []string{"", "bad route", "a{b}"} {
		_, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: route})
		if st, _, br := statusOf(t, err); st.Code() != codes.InvalidArgument || br.GetFieldViolations()[0].GetField() != "route" {
			t.Errorf("GetExperiment(%q): %v", route, err)
		}
	}
	// The typed error is what Status maps; errors.As finds it.
	_, err := e.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "gone", Outcome: &gatewayv1.FeedbackRequest_Success{}})
	var nf *gwerr.NotFoundError
	if !errors.As(err, &nf) || nf.ResourceType != "response" || !errors.Is(err, experiment.ErrUnknownResponse) ||
		gwerr.Status(err).Code() != codes.NotFound {
		t.Errorf("Feedback(unknown) error %T %v", err, err)
	}
}

func TestExperimentServiceDisabled(t *testing.T) {
	var e *core.ExperimentService // no store configured
	client, _ := serveExperiments(t, e)
	e.RecordComplete(context.Background(), decision("gpt", "m"), answer("x", "p", "m"), nil, time.Second) // no-op
	_, err := client.Feedback(context.Background(), &gatewayv1.FeedbackRequest{ResponseId: "x", Outcome: &gatewayv1.FeedbackRequest_Success{}})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Feedback on a disabled service: %v", err)
	}
	_, err = client.GetExperiment(context.Background(), &gatewayv1.GetExperimentRequest{Route: "career_advice"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("GetExperiment on a disabled service: %v", err)
	}
}

// TestExperimentServiceRedisDown: with its Redis gone the gateway keeps
// answering: recording gives up within its timeout and then pauses, and
// the RPCs answer Unavailable, not Internal, without Redis's address.
func TestExperimentServiceRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	e := core.NewExperimentService(experiment.NewRedisStore(c, experiment.RedisOptions{}), core.ExperimentOptions{
		RecordTimeout: 200 * time.Millisecond, RecordPause: time.Hour,
	})
	client, _ := serveExperiments(t, e)
	ctx := context.Background()
	d := decision("gpt", "gpt-4o-mini")
	e.RecordComplete(ctx, d, answer("before", "openai", "gpt-4o-mini"), nil, time.Second)
	srv.Kill()
	start := time.Now()
	e.RecordComplete(ctx, d, answer("during-1", "openai", "gpt-4o-mini"), nil, time.Second)
	for range 100 { // paused: no more waiting on Redis
		e.RecordComplete(ctx, d, answer("during-2", "openai", "gpt-4o-mini"), nil, time.Second)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("recording with Redis down took %v", took)
	}
	_, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "before", Outcome: &gatewayv1.FeedbackRequest_Success{Success: true}})
	st, info, _ := statusOf(t, err)
	if st.Code() != codes.Unavailable || info.GetReason() != "STORE_UNAVAILABLE" || strings.Contains(st.Message(), srv.Addr()) {
		t.Errorf("Feedback with Redis down: %v %q %v", st.Code(), st.Message(), info)
	}
	_, err = client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "career_advice"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("GetExperiment with Redis down: %v", err)
	}
}

// TestExperimentREST goes through grpc-gateway's generated handlers: POST
// /v1/feedback and GET /v1/experiments/{route}.
func TestExperimentREST(t *testing.T) {
	e := core.NewExperimentService(experiment.NewMemoryStore(experiment.MemoryOptions{}), core.ExperimentOptions{})
	_, conn := serveExperiments(t, e)
	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{UseProtoNames: true},
	}))
	if err := gatewayv1.RegisterLLMGatewayHandlerClient(context.Background(), mux, gatewayv1.NewLLMGatewayClient(conn)); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	e.RecordComplete(context.Background(), decision("gpt", "gpt-4o-mini"), answer("chatcmpl-1", "openai", "gpt-4o-mini"), nil, time.Second)

	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, hs.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
		return resp.StatusCode, m
	}
	code, m := do(http.MethodPost, "/v1/feedback", `{"response_id": "chatcmpl-1", "success": true}`)
	if code != http.StatusOK || m["variant"] != "gpt" || m["counted"] != true {
		t.Errorf("POST /v1/feedback: %d %v", code, m)
	}
	code, m = do(http.MethodPost, "/v1/feedback", `{"response_id": "chatcmpl-404", "score": 3}`)
	if code != http.StatusNotFound {
		t.Errorf("POST /v1/feedback for an unknown id: %d %v", code, m)
	}
	code, m = do(http.MethodPost, "/v1/feedback", `{"response_id": "chatcmpl-1"}`)
	if code != http.StatusBadRequest {
		t.Errorf("POST /v1/feedback without an outcome: %d %v", code, m)
	}
	code, m = do(http.MethodGet, "/v1/experiments/career_advice", "")
	vs, _ := m["variants"].([]any)
	if code != http.StatusOK || m["route"] != "career_advice" || len(vs) != 1 {
		t.Fatalf("GET /v1/experiments/career_advice: %d %v", code, m)
	}
	if v := vs[0].(map[string]any); v["successes"] != "1" || v["latency_p50"] == nil {
		t.Errorf("variant over REST: %v", v)
	}
	if code, _ := do(http.MethodGet, "/v1/experiments/unknown", ""); code != http.StatusNotFound {
		t.Errorf("GET /v1/experiments/unknown: %d", code)
	}
}
