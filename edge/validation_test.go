package edge_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// validationLimits are stricter than the .proto, so that the Go checks show.
var validationLimits = edge.Limits{MaxRequestBytes: 8 << 10, MaxMessages: 4, MaxTokens: 1000}

// okService answers every Complete and Stream: only the interceptors refuse.
type okService struct {
	gatewayv1.UnimplementedLLMGatewayServer
}

func (okService) Complete(context.Context, *gatewayv1.CompleteRequest) (*gatewayv1.CompleteResponse, error) {
	return &gatewayv1.CompleteResponse{Text: "ok"}, nil
}

func (okService) Stream(_ *gatewayv1.CompleteRequest, ss gatewayv1.LLMGateway_StreamServer) error {
	return ss.Send(&gatewayv1.StreamResponse{Done: true})
}

// startValidationServer serves okService behind the validation interceptors
// on a real socket.
func startValidationServer(t testing.TB, lim edge.Limits) gatewayv1.LLMGatewayClient {
	t.Helper()
	unary, stream, err := edge.NewValidationInterceptors(lim)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
	gatewayv1.RegisterLLMGatewayServer(srv, okService{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return gatewayv1.NewLLMGatewayClient(conn)
}

func validRequest() *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route:    "career_advice",
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"}},
	}
}

func userMessages(n int) []*gatewayv1.Message {
	m := make([]*gatewayv1.Message, n)
	for i := range m {
		m[i] = &gatewayv1.Message{Role: gatewayv1.Role_ROLE_USER, Content: "x"}
	}
	return m
}

func pairs(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["k"+strconv.Itoa(i)] = "v"
	}
	return m
}

var completeValidationCases = []struct {
	name   string
	mutate func(r *gatewayv1.CompleteRequest)
	fields []string // nil: the request is valid
}{
	{"good", func(*gatewayv1.CompleteRequest) {}, nil},
	{"good override", func(r *gatewayv1.CompleteRequest) {
		r.Route = ""
		r.Model = &gatewayv1.ModelOverride{Provider: "openai", Model: "gpt-4o-mini"}
	}, nil},
	{"good everything", func(r *gatewayv1.CompleteRequest) {
		r.Messages = append([]*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "Be brief."}}, r.Messages...)
		r.Messages = append(r.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT, Content: "Sure."})
		r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(1000), Temperature: proto.Float64(0),
			TopP: proto.Float64(1), Stop: []string{"a", "b", "c", strings.Repeat("d", 256)}, Seed: proto.Int64(-1)}
		r.Caller = &gatewayv1.Caller{Subject: strings.Repeat("u", 256), Tags: pairs(32)}
		r.Cache = &gatewayv1.CacheControl{Ttl: durationpb.New(0)}
		r.Variables = pairs(64)
		r.ForceVariant = "gpt-4o_v2.1"
	}, nil},
	{"no route", func(r *gatewayv1.CompleteRequest) { r.Route = "" }, []string{"route"}},
	{"route and model", func(r *gatewayv1.CompleteRequest) {
		r.Model = &gatewayv1.ModelOverride{Provider: "p", Model: "m"}
	}, []string{"model"}},
	{"override incomplete", func(r *gatewayv1.CompleteRequest) { r.Route = ""; r.Model = &gatewayv1.ModelOverride{} },
		[]string{"model.provider", "model.model"}},
	{"empty messages", func(r *gatewayv1.CompleteRequest) { r.Messages = nil }, []string{"messages"}},
	{"unknown role", func(r *gatewayv1.CompleteRequest) {
		r.Messages = append(r.Messages, &gatewayv1.Message{Role: 9, Content: "x"})
	}, []string{"messages[1].role"}},
	{"unspecified role", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Role = 0 }, []string{"messages[0].role", "messages"}},
	{"no user message", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Role = gatewayv1.Role_ROLE_SYSTEM }, []string{"messages"}},
	{"empty content", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Content = "" }, []string{"messages[0].content"}},
	{"more messages than configured", func(r *gatewayv1.CompleteRequest) { r.Messages = userMessages(5) }, []string{"messages"}},
	{"more messages than the contract", func(r *gatewayv1.CompleteRequest) { r.Messages = userMessages(257) }, []string{"messages"}},
	{"negative max_tokens", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(-1)}
	}, []string{"params.max_tokens"}},
	{"max_tokens above configured", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(1001)}
	}, []string{"params.max_tokens"}},
	{"absurd max_tokens", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(1 << 30)}
	}, []string{"params.max_tokens"}},
	{"temperature and top_p out of range", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{Temperature: proto.Float64(2.5), TopP: proto.Float64(0)}
	}, []string{"params.temperature", "params.top_p"}},
	{"NaN temperature", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{Temperature: proto.Float64(math.NaN()), TopP: proto.Float64(math.Inf(1))}
	}, []string{"params.temperature", "params.top_p"}},
	{"too many stops", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{Stop: []string{"a", "b", "c", "d", ""}}
	}, []string{"params.stop[4]", "params.stop"}},
	{"long stop", func(r *gatewayv1.CompleteRequest) {
		r.Params = &gatewayv1.GenerationParams{Stop: []string{strings.Repeat("é", 129)}}
	}, []string{"params.stop[0]"}},
	{"long subject", func(r *gatewayv1.CompleteRequest) {
		r.Caller = &gatewayv1.Caller{Subject: strings.Repeat("é", 129)}
	}, []string{"caller.subject"}},
	{"too many tags", func(r *gatewayv1.CompleteRequest) { r.Caller = &gatewayv1.Caller{Tags: pairs(33)} }, []string{"caller.tags"}},
	{"negative ttl", func(r *gatewayv1.CompleteRequest) {
		r.Cache = &gatewayv1.CacheControl{Ttl: &durationpb.Duration{Seconds: -5}}
	}, []string{"cache.ttl"}},
	{"malformed ttl", func(r *gatewayv1.CompleteRequest) {
		r.Cache = &gatewayv1.CacheControl{Ttl: &durationpb.Duration{Seconds: 5, Nanos: -1}}
	}, []string{"cache.ttl"}},
	{"malformed negative ttl", func(r *gatewayv1.CompleteRequest) {
		r.Cache = &gatewayv1.CacheControl{Ttl: &durationpb.Duration{Seconds: -5, Nanos: 1}}
	}, []string{"cache.ttl"}},
	{"too many variables", func(r *gatewayv1.CompleteRequest) { r.Variables = pairs(65) }, []string{"variables"}},
	{"bad force_variant", func(r *gatewayv1.CompleteRequest) { r.ForceVariant = "-bad variant" }, []string{"force_variant"}},
	{"oversized", func(r *gatewayv1.CompleteRequest) {
		r.Route = ""
		r.Messages[0].Content = strings.Repeat("x", 9<<10)
	}, []string{"request"}},
	{"everything wrong", func(r *gatewayv1.CompleteRequest) {
		r.Model = &gatewayv1.ModelOverride{Model: "m"}
		r.Messages = append(userMessages(4), &gatewayv1.Message{Role: 7})
		r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(5000), TopP: proto.Float64(-1), Stop: []string{""}}
		r.Caller = &gatewayv1.Caller{Subject: strings.Repeat("s", 257)}
		r.Cache = &gatewayv1.CacheControl{Ttl: &durationpb.Duration{Seconds: -1}}
		r.Variables = pairs(65)
		r.ForceVariant = "?"
	}, []string{
		"model.provider", "model",
		"messages[4].role", "messages[4].content", "messages",
		"params.max_tokens", "params.top_p", "params.stop[0]",
		"caller.subject", "cache.ttl", "variables", "force_variant",
	}},
}

func TestValidationInterceptorsComplete(t *testing.T) {
	client := startValidationServer(t, validationLimits)
	for _, tt := range completeValidationCases {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.mutate(r)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.Complete(ctx, r)
			checkRefusal(t, "unary", err, tt.fields)

			st, err := client.Stream(ctx, r)
			if err == nil {
				_, err = st.Recv()
			}
			checkRefusal(t, "stream", err, tt.fields)
		})
	}
}

func TestValidationInterceptorsExperimentRPCs(t *testing.T) {
	client := startValidationServer(t, validationLimits)
	tests := []struct {
		name   string
		call   func(context.Context) error
		fields []string
	}{
		{"feedback ok", func(ctx context.Context) error {
			_, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "r1", Outcome: &gatewayv1.FeedbackRequest_Score{Score: 1e6}})
			return err
		}, nil},
		{"feedback nothing", func(ctx context.Context) error {
			_, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{})
			return err
		}, []string{"response_id", "outcome"}},
		{"feedback long id", func(ctx context.Context) error {
			_, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: strings.Repeat("x", 257),
				Outcome: &gatewayv1.FeedbackRequest_Success{}})
			return err
		}, []string{"response_id"}},
		{"feedback NaN score", func(ctx context.Context) error {
			_, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "r1",
				Outcome: &gatewayv1.FeedbackRequest_Score{Score: math.NaN()}})
			return err
		}, []string{"score"}},
		{"feedback huge score", func(ctx context.Context) error {
			_, err := client.Feedback(ctx, &gatewayv1.FeedbackRequest{ResponseId: "r1",
				Outcome: &gatewayv1.FeedbackRequest_Score{Score: -1e7}})
			return err
		}, []string{"score"}},
		{"experiment ok", func(ctx context.Context) error {
			_, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "career_advice"})
			return err
		}, nil},
		{"experiment no route", func(ctx context.Context) error {
			_, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{})
			return err
		}, []string{"route"}},
		{"experiment route with a space", func(ctx context.Context) error {
			_, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "bad route"})
			return err
		}, []string{"route"}},
		{"experiment route with braces", func(ctx context.Context) error {
			_, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: "a{b}"})
			return err
		}, []string{"route"}},
		{"experiment long route", func(ctx context.Context) error {
			_, err := client.GetExperiment(ctx, &gatewayv1.GetExperimentRequest{Route: strings.Repeat("r", 129)})
			return err
		}, []string{"route"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tt.call(ctx)
			if tt.fields == nil {
				// Past validation, okService does not implement these.
				if status.Code(err) != codes.Unimplemented {
					t.Fatalf("valid request: %v, want it to reach the handler (Unimplemented)", err)
				}
				return
			}
			checkRefusal(t, "unary", err, tt.fields)
		})
	}
}

// checkRefusal checks that err is nil when fields is, and otherwise an
// InvalidArgument naming exactly fields, in order, with reason
// INVALID_REQUEST.
func checkRefusal(t *testing.T, kind string, err error, fields []string) {
	t.Helper()
	if fields == nil {
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("%s: valid request refused: %v", kind, err)
		}
		return
	}
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: code = %v (%v), want InvalidArgument", kind, st.Code(), err)
	}
	var got []string
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				got = append(got, v.GetField())
				if v.GetDescription() == "" {
					t.Errorf("%s: %s has no description", kind, v.GetField())
				}
			}
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	if strings.Join(got, " ") != strings.Join(fields, " ") {
		t.Errorf("%s: fields = %q, want %q (%v)", kind, got, fields, err)
	}
	if info.GetReason() != "INVALID_REQUEST" || info.GetDomain() != gwerr.Domain {
		t.Errorf("%s: error info = %v, want INVALID_REQUEST in %s", kind, info, gwerr.Domain)
	}
}

func TestValidationLimitsAboveTheContract(t *testing.T) {
	for _, lim := range []edge.Limits{{MaxMessages: 257}, {MaxTokens: 32769}} {
		if _, _, err := edge.NewValidationInterceptors(lim); err == nil {
			t.Errorf("limits %+v: accepted, want an error", lim)
		}
	}
	if _, _, err := edge.NewValidationInterceptors(edge.Limits{MaxMessages: 256, MaxTokens: 32768}); err != nil {
		t.Errorf("limits at the contract's ceiling: %v", err)
	}
}

func BenchmarkValidationInterceptor(b *testing.B) {
	unary, _, err := edge.NewValidationInterceptors(edge.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	info := &grpc.UnaryServerInfo{FullMethod: gatewayv1.LLMGateway_Complete_FullMethodName}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	typical := validRequest()
	typical.Messages = append([]*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "You are a career coach."}}, typical.Messages...)
	typical.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(512), Temperature: proto.Float64(0.7), Stop: []string{"\n\n"}}
	typical.Caller = &gatewayv1.Caller{Subject: "user-123", Tags: map[string]string{"feature": "resume_review"}}
	typical.Variables = map[string]string{"role": "data engineer"}
	bad := validRequest()
	bad.Messages[0].Role = 0
	bad.Params = &gatewayv1.GenerationParams{Temperature: proto.Float64(3)}
	for _, bc := range []struct {
		name  string
		req   *gatewayv1.CompleteRequest
		valid bool
	}{{"valid", typical, true}, {"invalid", bad, false}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unary(ctx, bc.req, info, handler); (err == nil) != bc.valid {
					b.Fatal(err)
				}
			}
		})
	}
}
