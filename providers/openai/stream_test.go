package openai_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

func TestStream(t *testing.T) {
	tests := []struct {
		file       string
		wantDeltas []string
		want       providers.Chunk
	}{
		{
			file:       "stream.sse",
			wantDeltas: []string{"Start", " with", " SQL", ",", " then", " Python", "."},
			want: providers.Chunk{Done: true, FinishReason: providers.FinishStop,
				Usage: providers.Usage{InputTokens: 25, OutputTokens: 7},
				ID:    "chatcmpl-BX3aB1kq9Yw4TnQ2uZr7LmVfHc3dE", Model: "gpt-4o-mini-2024-07-18"},
		},
		{
			// The finish chunk, a keep-alive comment, then the usage chunk.
			file:       "stream_usage_after_finish.sse",
			wantDeltas: []string{"Mentor", "ship", " programs", " help", " junior"},
			want: providers.Chunk{Done: true, FinishReason: providers.FinishLength,
				Usage: providers.Usage{InputTokens: 2048, OutputTokens: 5, CachedInputTokens: 1920},
				ID:    "chatcmpl-BX3bC2lr0Zx5UoR3vAs8MnWgId4eF", Model: "gpt-4o-mini-2024-07-18"},
		},
		{
			// Azure: a leading prompt_filter_results chunk with no id or
			// model, content_filter_results on every choice.
			file:       "stream_azure.sse",
			wantDeltas: []string{"Hello", "!"},
			want: providers.Chunk{Done: true, FinishReason: providers.FinishContentFilter,
				Usage: providers.Usage{InputTokens: 9, OutputTokens: 2},
				ID:    "chatcmpl-BX3cD3ms1Ay6VpS4wBt9NoXhJe5fG", Model: "gpt-4o-2024-11-20"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			srv := newServer(t, sseReply(t, tt.file))
			s, err := build(t, settings(srv)).Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			deltas, final, err := collect(t, s)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if strings.Join(deltas, "|") != strings.Join(tt.wantDeltas, "|") {
				t.Errorf("deltas = %q, want %q", deltas, tt.wantDeltas)
			}
			if final != tt.want {
				t.Errorf("final chunk =\n%+v\nwant\n%+v", final, tt.want)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestStreamFailures(t *testing.T) {
	tests := []struct {
		name       string
		body       string // an SSE transcript, or testdata file name when it ends in .sse
		wantDeltas []string
		wantKind   providers.ErrorKind
		wantCode   string
		wantMsg    string
	}{
		{name: "truncated, no [DONE]", body: "stream_truncated.sse",
			wantDeltas: []string{"Career", " changers", " should"}, wantKind: providers.KindTruncated},
		{name: "cut inside an event", body: "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"del",
			wantDeltas: []string{"a"}, wantKind: providers.KindTruncated},
		{name: "finish and usage but no [DONE]", body: "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n",
			wantDeltas: []string{"a"}, wantKind: providers.KindTruncated},
		{name: "empty body", body: "", wantKind: providers.KindTruncated},
		{name: "mid-stream server_error", body: "stream_error.sse",
			wantDeltas: []string{"The", " first"}, wantKind: providers.KindServer, wantCode: "server_error",
			wantMsg: "The server had an error while processing your request"},
		{name: "mid-stream rate limit", body: "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n",
			wantKind: providers.KindRateLimited, wantCode: "rate_limit_exceeded", wantMsg: "Rate limit reached"},
		{name: "mid-stream auth error hides text", body: "data: {\"error\":{\"message\":\"Incorrect API key provided: " + testKey + "\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}\n\n",
			wantKind: providers.KindAuth, wantCode: "invalid_api_key", wantMsg: "credentials"},
		{name: "vLLM numeric code", body: "data: {\"error\":{\"object\":\"error\",\"message\":\"boom\",\"type\":\"InternalServerError\",\"param\":null,\"code\":500}}\n\n",
			wantKind: providers.KindServer, wantCode: "500", wantMsg: "boom"},
		{name: "event: error", body: "event: error\ndata: {\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}\n\n",
			wantKind: providers.KindOverloaded, wantCode: "overloaded_error", wantMsg: "Overloaded"},
		{name: "not JSON", body: "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: <html>oops</html>\n\n",
			wantDeltas: []string{"a"}, wantKind: providers.KindMalformed, wantMsg: "oops"},
		{name: "wrong JSON shape", body: "data: {\"choices\":{\"delta\":1}}\n\n", wantKind: providers.KindMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if strings.HasSuffix(tt.body, ".sse") {
				body = testdata(t, tt.body)
			}
			srv := newServer(t, recorded{status: 200, contentType: "text/event-stream", body: body})
			s, err := build(t, settings(srv)).Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			deltas, _, err := collect(t, s)
			pe := errorOfKind(t, err, tt.wantKind)
			if strings.Join(deltas, "|") != strings.Join(tt.wantDeltas, "|") {
				t.Errorf("deltas = %q, want %q", deltas, tt.wantDeltas)
			}
			if pe.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", pe.Code, tt.wantCode)
			}
			if !strings.Contains(pe.Message, tt.wantMsg) {
				t.Errorf("Message = %q, want it to contain %q", pe.Message, tt.wantMsg)
			}
			if _, again := s.Recv(); !errors.Is(again, err) {
				t.Errorf("Recv after failure = %v, want the same error %v", again, err)
			}
		})
	}
}

// A host that ignores "stream": true and answers with a chat.completion.
func TestStreamJSONAnswer(t *testing.T) {
	srv := newServer(t, jsonReply(t, 200, "chat_completion.json"))
	s, err := build(t, settings(srv)).Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	deltas, final, err := collect(t, s)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if len(deltas) != 1 || !strings.HasPrefix(deltas[0], "A data analyst") {
		t.Errorf("deltas = %q", deltas)
	}
	if final.FinishReason != providers.FinishStop || final.Usage.InputTokens != 1180 || final.ID == "" {
		t.Errorf("final = %+v", final)
	}
}

func TestStreamCloseDuringRecv(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeSSE(w, 200, []byte("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"))
		<-r.Context().Done() // hang until the client goes away
	}))
	s, err := build(t, settings(srv)).Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Recv(); err != nil || c.Delta != "a" {
		t.Fatalf("first Recv = %+v, %v", c, err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // let Recv block on the network
	done := make(chan struct{})
	go func() { // concurrent Closes
		_ = s.Close()
		close(done)
	}()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-done
	select {
	case err := <-errc:
		wantKind(t, err, providers.KindCanceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
	_, err = s.Recv()
	wantKind(t, err, providers.KindCanceled)
}

// A stream read to its end gives its connection back to the pool.
func TestStreamReusesConnection(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" {
			writeSSE(w, 200, testdata(t, "stream.sse"))
			// The end of the chunked body comes a little after [DONE]:
			// Close must wait for it rather than drop the connection.
			time.Sleep(20 * time.Millisecond)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(testdata(t, "chat_completion.json"))
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p := build(t, settings(srv))
	ctx := ctxTimeout(t, 10*time.Second)
	for range 3 {
		s, err := p.Stream(ctx, userRequest("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := collect(t, s); !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		_ = s.Close()
		if _, err := p.Complete(ctx, userRequest("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 6 sequential requests, want 1", n)
	}
}

func TestStreamCallerCancelMidStream(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeSSE(w, 200, []byte("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"))
		<-r.Context().Done()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := build(t, settings(srv)).Stream(ctx, userRequest("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = s.Recv()
	wantKind(t, err, providers.KindCanceled)
}
