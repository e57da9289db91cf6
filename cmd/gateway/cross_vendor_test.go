package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// TestBinaryToolRoundTripAcrossVendors: a tool call answered on one
// vendor's wire is carried, with its id, into a conversation answered on
// the other's: OpenAI then Anthropic, and Anthropic then OpenAI. The
// simulator refuses a tool result whose id names no call, as both APIs do.
func TestBinaryToolRoundTripAcrossVendors(t *testing.T) {
	_, client, ctx := startFourVendors(t, "-log-level", "error")
	oai := &gatewayv1.ModelOverride{Provider: "oai", Model: "gpt-4o-mini"}
	ant := &gatewayv1.ModelOverride{Provider: "ant", Model: "claude-haiku-4-5"}

	for _, tc := range []struct {
		name          string
		first, second *gatewayv1.ModelOverride
	}{{"OpenAIThenAnthropic", oai, ant}, {"AnthropicThenOpenAI", ant, oai}} {
		t.Run(tc.name, func(t *testing.T) {
			req := &gatewayv1.CompleteRequest{Model: tc.first, Tools: richTools(), ParallelToolCalls: proto.Bool(false),
				Messages: []*gatewayv1.Message{user("Find data engineering jobs in Berlin.")},
				Params:   &gatewayv1.GenerationParams{MaxTokens: proto.Int32(256)}}
			first, err := client.Complete(ctx, req)
			if err != nil {
				t.Fatalf("first turn: %v", err)
			}
			calls := partCalls(first.GetParts())
			if first.GetProvider() != tc.first.GetProvider() || len(calls) != 1 || calls[0].ID == "" || calls[0].Name != "search_jobs" {
				t.Fatalf("first answer from %s: %v", first.GetProvider(), first)
			}
			req.Model = tc.second
			req.Messages = append(req.Messages,
				assistant(first.GetParts()),
				toolResult(calls[0].ID, `["Zalando","N26"]`))
			second, err := client.Complete(ctx, req)
			if err != nil {
				t.Fatalf("second turn with the tool result: %v", err)
			}
			if second.GetProvider() != tc.second.GetProvider() || second.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_STOP {
				t.Fatalf("second answer from %s: %v", second.GetProvider(), second)
			}
			// The OpenAI simulator quotes the tool result it was given.
			if tc.second == oai && !strings.Contains(second.GetText(), "Zalando") {
				t.Errorf("second answer %q does not quote the tool result", second.GetText())
			}

			// A result naming an id the first turn did not give is refused:
			// the ids are what pairs them.
			req.Messages[2] = toolResult(calls[0].ID+"x", `[]`)
			if _, err := client.Complete(ctx, req); err == nil {
				t.Errorf("a tool result with an unknown id was answered by %s", tc.second.GetProvider())
			}
		})
	}
}
