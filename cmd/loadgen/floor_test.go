package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers/sim"
)

// TestFloorStreams drives the floor proxy with streams from the
// simulator, over real sockets: every stream arrives whole.
func TestFloorStreams(t *testing.T) {
	floorURL, client := floorInProcess(t)
	tgt := &httpTarget{url: floorURL + "/v1/chat/completions", header: map[string][]string{"Content-Type": {"application/json"}},
		body: openAIBody(true), want: answerOf(openAIModel), must: [][]byte{[]byte(`"finish_reason":"stop"`)}, sse: openAITextStream}
	c := tgt.newCall(client)(0)
	for i := range 2000 {
		ttft, err := c(context.Background())
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if ttft <= 0 || ttft > time.Second {
			t.Fatalf("stream %d: ttft %v", i, ttft)
		}
	}
}

// TestFloorToolStream: a streamed tool call through the floor is read
// whole and its arguments are the simulator's.
func TestFloorToolStream(t *testing.T) {
	floorURL, client := floorInProcess(t)
	tgt := &httpTarget{url: floorURL + "/v1/chat/completions", header: map[string][]string{"Content-Type": {"application/json"}},
		body: openAIToolBody, want: func([]byte) string { return toolArguments },
		must: [][]byte{[]byte(`"name":"` + toolName + `"`), []byte(`"finish_reason":"tool_calls"`)}, sse: openAIToolStream}
	c := tgt.newCall(client)(0)
	for i := range 100 {
		if ttft, err := c(context.Background()); err != nil || ttft <= 0 {
			t.Fatalf("stream %d: ttft %v, %v", i, ttft, err)
		}
	}
}

// floorInProcess starts a simulator and the floor proxy in front of it, and
// returns the floor's URL and a client for it.
func floorInProcess(t *testing.T) (string, *http.Client) {
	t.Helper()
	_, base, stop, err := sim.Start(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	u, _ := url.Parse(base)
	floor := httptest.NewServer(newFloor(u, slog.New(slog.DiscardHandler)))
	t.Cleanup(floor.Close)
	client := newHTTPClient(1)
	t.Cleanup(client.CloseIdleConnections)
	return floor.URL, client
}
