package chaos_test

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// TestClassify checks the soak's judgement of outcomes, which the soak
// itself cannot show failing.
func TestClassify(t *testing.T) {
	withInfo := func(c codes.Code, msg, reason string) error {
		st, err := status.New(c, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "llmgateway"})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	for _, tc := range []struct {
		name      string
		err       error
		class     string
		transport bool
		clear     bool
	}{
		{"gateway error", withInfo(codes.Unavailable, "upstream failed", "UPSTREAM_UNAVAILABLE"),
			"grpc Unavailable (UPSTREAM_UNAVAILABLE)", false, true},
		{"refused connection", status.Error(codes.Unavailable, "connection error: connect: connection refused"),
			"grpc Unavailable (transport)", true, true},
		{"deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"),
			"grpc DeadlineExceeded (no reason)", false, true},
		{"internal", withInfo(codes.Internal, "internal error", "X"), "grpc Internal (X)", false, false},
		{"unknown", errors.New("boom"), "grpc Unknown (no reason)", false, false},
		{"no message", status.Error(codes.ResourceExhausted, ""), "grpc ResourceExhausted (no reason)", false, false},
	} {
		class, transport, problem := grpcClass(tc.err)
		if class != tc.class || transport != tc.transport || (problem == "") != tc.clear {
			t.Errorf("%s: grpcClass = %q, %v, %q; want %q, %v, clear %v",
				tc.name, class, transport, problem, tc.class, tc.transport, tc.clear)
		}
	}

	if class, problem := answerClass(gatewayv1.ServedFrom_SERVED_FROM_FRESH, gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP, "hi"); class != "ok BACKUP" || problem != "" {
		t.Errorf("answer from the backup: %q, %q", class, problem)
	}
	if _, problem := answerClass(gatewayv1.ServedFrom_SERVED_FROM_UNSPECIFIED, gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY, "hi"); problem == "" {
		t.Error("an answer that does not say how it was produced passed")
	}
	if _, problem := answerClass(gatewayv1.ServedFrom_SERVED_FROM_FRESH, gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY, ""); problem == "" {
		t.Error("an empty answer passed")
	}
}
