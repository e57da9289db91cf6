package main

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestBinaryCachedToolCalls: a tool-call answer is stored in the answer
// cache and comes back exactly, unary and streamed: the same call ids,
// names and arguments, whether the original was streamed or not.
func TestBinaryCachedToolCalls(t *testing.T) {
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	p := startBinary(t, simConfig(t, url), []string{"BIN_TEST_KEY=k"}, "-log-level", "error")
	client, ctx := p.connect(t, 30*time.Second)
	req := func(question string) *gatewayv1.CompleteRequest {
		return &gatewayv1.CompleteRequest{Route: "r", Tools: richTools(),
			Messages:   []*gatewayv1.Message{user(question)},
			Params:     &gatewayv1.GenerationParams{Temperature: proto.Float64(0)},
			ToolChoice: &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}}
	}
	hit := gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT

	t.Run("StreamedThenReplayed", func(t *testing.T) {
		r := req("Find data engineering jobs in Berlin, streamed.")
		s, err := client.Stream(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want, first := streamCalls(t, s)
		if len(want) < 2 || first.GetServedFrom() == hit {
			t.Fatalf("first answer: calls %+v, final %v", want, first)
		}
		s, err = client.Stream(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		got, last := streamCalls(t, s)
		if last.GetServedFrom() != hit || last.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS {
			t.Fatalf("replayed final message %v", last)
		}
		if !slices.Equal(got, want) {
			t.Errorf("replayed calls\n got %+v\nwant %+v", got, want)
		}
		resp, err := client.Complete(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetServedFrom() != hit || !slices.Equal(partCalls(resp.GetParts()), want) {
			t.Errorf("unary hit %v, calls %+v, want %+v", resp.GetServedFrom(), partCalls(resp.GetParts()), want)
		}
	})

	t.Run("UnaryThenReplayed", func(t *testing.T) {
		r := req("Find data engineering jobs in Berlin, at once.")
		first, err := client.Complete(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want := partCalls(first.GetParts())
		if len(want) < 2 || first.GetServedFrom() == hit {
			t.Fatalf("first answer %v", first)
		}
		again, err := client.Complete(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if again.GetServedFrom() != hit || !proto.Equal(&gatewayv1.CompleteResponse{Parts: again.GetParts(), Text: again.GetText()},
			&gatewayv1.CompleteResponse{Parts: first.GetParts(), Text: first.GetText()}) {
			t.Errorf("unary hit %v parts %v, want %v", again.GetServedFrom(), again.GetParts(), first.GetParts())
		}
		s, err := client.Stream(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		got, last := streamCalls(t, s)
		if last.GetServedFrom() != hit || !slices.Equal(got, want) {
			t.Errorf("streamed hit %v, calls %+v, want %+v", last.GetServedFrom(), got, want)
		}
	})
}
