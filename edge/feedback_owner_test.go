package edge_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// TestFeedbackOnlyFromTheReceiver: feedback on an answer is accepted from
// the client that received it and from a client allowed to see all usage;
// any other client is told the response does not exist.
func TestFeedbackOnlyFromTheReceiver(t *testing.T) {
	g := startUsageGateway(t, edge.Options{})
	app := withKey(ctxT(t), usageAppKey)
	resp, err := g.client.Complete(app, request("openai_only", "u1"))
	if err != nil {
		t.Fatal(err)
	}
	verdict := func(ok bool) *gatewayv1.FeedbackRequest {
		return &gatewayv1.FeedbackRequest{ResponseId: resp.GetId(), Outcome: &gatewayv1.FeedbackRequest_Success{Success: ok}}
	}

	_, err = g.client.Feedback(withKey(ctxT(t), usageOtherKey), verdict(false))
	if status.Code(err) != codes.NotFound {
		t.Fatalf("feedback from another client: %v, want NotFound", err)
	}
	fb, err := g.client.Feedback(app, verdict(true))
	if err != nil || fb.GetRoute() != "openai_only" || fb.GetReplaced() {
		t.Fatalf("feedback from the receiver: %v, %v (the other client's verdict must not have been kept)", fb, err)
	}
	fb, err = g.client.Feedback(withKey(ctxT(t), usageAdminKey), verdict(false))
	if err != nil || !fb.GetReplaced() {
		t.Fatalf("feedback from a client with allow_all_usage: %v, %v", fb, err)
	}
}
