package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestBinaryToolRoundTripAcrossVendors: a tool call answered on one
// vendor's wire is carried, with its id, into a conversation answered on
// the other's: OpenAI then Anthropic, and Anthropic then OpenAI. The
// simulator refuses a tool result whose id names no call, as both APIs do.
func TestBinaryToolRoundTripAcrossVendors(t *testing.T) {
	_, url := startSim(t, sim.Config{})
	none := filepath.Join(t.TempDir(), "none")
	p := startBinary(t, fourVendorConfig(t, url), []string{
		"FOUR_OPENAI_KEY=sk-four", "FOUR_ANTHROPIC_KEY=sk-ant-four", "FOUR_GEMINI_KEY=AIzaFour",
		"AWS_ACCESS_KEY_ID=AKIDFOURVENDORS", "AWS_SECRET_ACCESS_KEY=four-vendors-secret",
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_PROFILE=", "AWS_EC2_METADATA_DISABLED=true",
	}, "-log-level", "error")
	client, ctx := p.connect(t, 60*time.Second)
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
