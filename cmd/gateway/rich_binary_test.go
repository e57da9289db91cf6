package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

const (
	jobsParams       = `{"type":"object","properties":{"title":{"type":"string"},"city":{"type":"string","enum":["Berlin","Paris"]}},"required":["title","city"]}`
	salaryParams     = `{"type":"object","properties":{"level":{"type":"integer","minimum":3}},"required":["level"]}`
	openaiPlanSchema = `{"type":"object","properties":{"role":{"type":"string"},"months":{"type":"integer","minimum":1}},"required":["role","months"],"additionalProperties":false}`
)

func richTools() []*gatewayv1.Tool {
	return []*gatewayv1.Tool{
		tool("search_jobs", "Search open positions.", jobsParams),
		tool("get_salary", "Median salary.", salaryParams),
	}
}

// TestBinaryRichOpenAI runs rich requests through the gateway binary over
// gRPC to an OpenAI route answered by the simulator: a tool round trip,
// parallel tool calls streamed and assembled by index, and a JSON-schema
// answer that satisfies its schema.
func TestBinaryRichOpenAI(t *testing.T) {
	_, url := startSim(t, sim.Config{RequireAPIKey: "k"})
	p := startBinary(t, simConfig(t, url), []string{"BIN_TEST_KEY=k"}, "-log-level", "error")
	client, ctx := p.connect(t, 30*time.Second)
	question := user("Find data engineering jobs in Berlin.")

	t.Run("ToolRoundTrip", func(t *testing.T) {
		req := &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{question}, Tools: richTools(),
			ParallelToolCalls: proto.Bool(false)}
		first, err := client.Complete(ctx, req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if first.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS || len(first.GetParts()) != 1 {
			t.Fatalf("first answer %v", first)
		}
		call := first.GetParts()[0].GetToolCall()
		if call.GetName() != "search_jobs" || call.GetId() == "" {
			t.Fatalf("tool call %v", call)
		}
		var args map[string]string
		if err := json.Unmarshal([]byte(call.GetArguments()), &args); err != nil || args["city"] != "Berlin" {
			t.Fatalf("arguments %q: %v", call.GetArguments(), err)
		}
		req.Messages = append(req.Messages,
			assistant(first.GetParts()),
			toolResult(call.GetId(), `["Zalando","N26"]`))
		second, err := client.Complete(ctx, req)
		if err != nil {
			t.Fatalf("Complete after the tool result: %v", err)
		}
		if second.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_STOP || !strings.Contains(second.GetText(), `["Zalando","N26"]`) {
			t.Fatalf("second answer %v", second)
		}
	})

	t.Run("StreamParallelToolCalls", func(t *testing.T) {
		s, err := client.Stream(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{question}, Tools: richTools(),
			ToolChoice: &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}})
		if err != nil {
			t.Fatal(err)
		}
		calls, last := streamCalls(t, s)
		if last.GetFinishReason() != gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS {
			t.Fatalf("last message %v", last)
		}
		if len(calls) != 2 || calls[0].Name != "search_jobs" || calls[1].Name != "get_salary" {
			t.Fatalf("calls %+v", calls)
		}
		for i, schema := range []string{jobsParams, salaryParams} {
			s := compileSchema(t, schema)
			if err := s.Validate([]byte(calls[i].Args)); err != nil {
				t.Errorf("call %d arguments %s: %v", i, calls[i].Args, err)
			}
		}
	})

	t.Run("JSONSchema", func(t *testing.T) {
		resp, err := client.Complete(ctx, &gatewayv1.CompleteRequest{Route: "r", Messages: []*gatewayv1.Message{question},
			ResponseFormat: jsonFormat("plan", openaiPlanSchema)})
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		s := compileSchema(t, openaiPlanSchema)
		if err := s.Validate([]byte(resp.GetText())); err != nil {
			t.Errorf("answer %s: %v", resp.GetText(), err)
		}
	})
}
