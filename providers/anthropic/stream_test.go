package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// resetConn closes c with a TCP RST instead of a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// streamBody answers with an event stream, flushing after every event as
// the API does.
func streamBody(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		for len(body) > 0 {
			ev, rest, found := bytes.Cut(body, []byte("\n\n"))
			_, _ = w.Write(ev)
			if found {
				_, _ = w.Write([]byte("\n\n"))
			}
			w.(http.Flusher).Flush()
			body = rest
		}
	}
}

// collect reads s until an error and checks the Stream contract along the
// way: no empty non-final chunks, io.EOF only after Done, errors sticky.
func collect(t *testing.T, s providers.Stream) (deltas []string, final providers.Chunk, err error) {
	t.Helper()
	for {
		c, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) && !final.Done {
				t.Fatalf("io.EOF before the Done chunk: %v", err)
			}
			if errors.Is(err, io.EOF) && err != io.EOF { //nolint:errorlint // identity is the point
				t.Fatalf("error %v wraps io.EOF", err)
			}
			if _, again := s.Recv(); !errors.Is(again, err) {
				t.Errorf("second Recv after %v returned %v", err, again)
			}
			return deltas, final, err
		}
		if final.Done {
			t.Fatalf("chunk %+v after the Done chunk", c)
		}
		if c.Done {
			final = c
			continue
		}
		if c.Delta == "" {
			t.Fatalf("empty non-final chunk %+v", c)
		}
		deltas = append(deltas, c.Delta)
	}
}

func TestStream(t *testing.T) {
	transcript := readTestdata(t, "stream.sse")
	wantStream := providers.Chunk{
		Done:         true,
		FinishReason: providers.FinishStop,
		Usage: providers.Usage{
			InputTokens:              21 + 188 + 1024,
			OutputTokens:             15,
			CachedInputTokens:        1024,
			CacheCreationInputTokens: 188,
		},
		ID:    "msg_01Lm5jUz9QD2fJdrkfo2gM7b",
		Model: "claude-sonnet-4-20250514",
	}
	wantDeltas := []string{"Build", " one end-to-end pipeline", " project, then", " write about it."}

	tests := []struct {
		name   string
		body   []byte
		deltas []string
		final  providers.Chunk
	}{
		{"recorded transcript", transcript, wantDeltas, wantStream},
		{"CRLF line endings", bytes.ReplaceAll(transcript, []byte("\n"), []byte("\r\n")), wantDeltas, wantStream},
		{"no space after colon", bytes.ReplaceAll(transcript, []byte(": "), []byte(":")), wantDeltas, wantStream},
		{
			// Last message_delta's output_tokens wins (never a sum), input and
			// cache counts from message_delta override message_start, and
			// thinking, signature and tool input deltas are not text.
			name:   "cumulative usage, thinking and tool use",
			body:   readTestdata(t, "stream_cumulative.sse"),
			deltas: []string{"Option A", " fits better."},
			final: providers.Chunk{
				Done:         true,
				FinishReason: providers.FinishToolCalls,
				Usage: providers.Usage{
					InputTokens:              12 + 300 + 2048,
					OutputTokens:             87,
					CachedInputTokens:        2048,
					CacheCreationInputTokens: 300,
				},
				ID:    "msg_01CumUsage7Kq2",
				Model: "claude-opus-4-1-20250805",
			},
		},
		{
			name: "type from event name when JSON has none",
			body: []byte("event: message_start\ndata: {\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
				"event: content_block_delta\ndata: {\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
				"event: message_delta\ndata: {\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":2}}\n\n" +
				"event: message_stop\ndata: {}\n\n"),
			deltas: []string{"hi"},
			final:  providers.Chunk{Done: true, FinishReason: providers.FinishLength, Usage: providers.Usage{InputTokens: 3, OutputTokens: 2}, ID: "m", Model: "c"},
		},
		{
			name: "JSON type wins over event name",
			body: []byte("event: ping\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
				"event: ping\ndata: {\"type\":\"message_stop\"}\n\n"),
			deltas: []string{"hi"},
			final:  providers.Chunk{Done: true},
		},
		{
			name: "white space around data, escaped type",
			body: []byte("data:  {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\u00e9\\n\"}} \t\n\n" +
				"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
				"data: {\"type\":\"message\\u005fstop\"}\n\n"),
			deltas: []string{"aé\n"},
			final:  providers.Chunk{Done: true},
		},
		{
			name: "unknown events and null fields skipped",
			body: []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":null,\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":null,\"output_tokens\":1}}}\n\n" +
				": comment\n\n" +
				"event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"whatever\":[1,2,3]}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"\"}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"},\"usage\":{\"output_tokens\":0}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
			final: providers.Chunk{Done: true, FinishReason: providers.FinishContentFilter, Usage: providers.Usage{InputTokens: 5}, ID: "m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, streamBody(tt.body))
			s, err := newProvider(t, f.URL).Stream(context.Background(), simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			deltas, final, err := collect(t, s)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if strings.Join(deltas, "|") != strings.Join(tt.deltas, "|") {
				t.Errorf("deltas = %q, want %q", deltas, tt.deltas)
			}
			if final != tt.final {
				t.Errorf("final chunk\n got %+v\nwant %+v", final, tt.final)
			}
			r := f.requests()[0]
			if r.Header.Get("x-api-key") != fakeKey || r.Header.Get("anthropic-version") != DefaultVersion {
				t.Errorf("headers = %v", r.Header)
			}
			if !bytes.HasSuffix(r.Body, []byte(`,"stream":true}`)) {
				t.Errorf("request body %s does not ask for a stream", r.Body)
			}
		})
	}
}

func TestStreamErrors(t *testing.T) {
	transcript := readTestdata(t, "stream.sse")
	cut := bytes.Index(transcript, []byte("event: message_stop"))
	midLine := bytes.Index(transcript, []byte(" write about"))
	if cut < 0 || midLine < 0 {
		t.Fatal("stream.sse lacks the expected events")
	}
	errorEvent := func(typ, msg string) []byte {
		return []byte(`event: message_start
data: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1,"output_tokens":1}}}

event: error
data: {"type": "error", "error": {"type": "` + typ + `", "message": "` + msg + `"}}

`)
	}
	tests := []struct {
		name   string
		body   []byte
		deltas int
		kind   providers.ErrorKind
		code   string
	}{
		{"mid-stream overloaded_error", readTestdata(t, "stream_error.sse"), 1, providers.KindOverloaded, "overloaded_error"},
		{"rate_limit_error event", errorEvent("rate_limit_error", "Number of request tokens has exceeded your rate limit"), 0, providers.KindRateLimited, "rate_limit_error"},
		{"billing_error event", errorEvent("billing_error", "Your credit balance is too low to access the Anthropic API."), 0, providers.KindQuotaExhausted, "billing_error"},
		{"api_error event", errorEvent("api_error", "Internal server error"), 0, providers.KindServer, "api_error"},
		{"invalid_request_error event", errorEvent("invalid_request_error", "messages: text content blocks must be non-empty"), 0, providers.KindBadRequest, "invalid_request_error"},
		{"prompt too long event", errorEvent("invalid_request_error", "prompt is too long: 215045 tokens > 200000 maximum"), 0, providers.KindContextLength, "invalid_request_error"},
		{"authentication_error event", errorEvent("authentication_error", "invalid x-api-key sk-ant-SECRET"), 0, providers.KindAuth, "authentication_error"},
		{"permission_error event", errorEvent("permission_error", "key sk-ant-SECRET lacks permission"), 0, providers.KindAuth, "permission_error"},
		{"unknown error type", errorEvent("brand_new_error", "?"), 0, providers.KindUnknown, "brand_new_error"},
		{"truncated between events", transcript[:cut], 4, providers.KindTruncated, ""},
		{"truncated inside an event", transcript[:cut+25], 4, providers.KindTruncated, ""},
		{"truncated inside a data line", transcript[:midLine], 3, providers.KindTruncated, ""},
		{"empty body", nil, 0, providers.KindTruncated, ""},
		{"malformed event JSON", []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\n\n"), 0, providers.KindMalformed, ""},
		{"two JSON values in one event", []byte("data: {\"type\":\"ping\"} {\"type\":\"message_stop\"}\n\n"), 0, providers.KindMalformed, ""},
		{"stray closing brace", []byte("data: {\"type\":\"message_stop\"}}\n\n"), 0, providers.KindMalformed, ""},
		{"type is not a string", []byte("data: {\"type\":7}\n\n"), 0, providers.KindMalformed, ""},
		{"empty data", []byte("event: message_stop\ndata:\n\n"), 0, providers.KindMalformed, ""},
		{"data is not an object", []byte("event: message_stop\ndata: [1]\n\n"), 0, providers.KindMalformed, ""},
		{"line too long", []byte("data: " + strings.Repeat("x", 5<<20) + "\n\n"), 0, providers.KindMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, streamBody(tt.body))
			s, err := newProvider(t, f.URL).Stream(context.Background(), simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			deltas, _, err := collect(t, s)
			if len(deltas) != tt.deltas {
				t.Errorf("got %d deltas %q, want %d", len(deltas), deltas, tt.deltas)
			}
			pe := kindErr(t, err, tt.kind)
			if pe.Code != tt.code {
				t.Errorf("Code = %q, want %q", pe.Code, tt.code)
			}
			if pe.Kind == providers.KindAuth && pe.Message != authMessage {
				t.Errorf("auth Message = %q", pe.Message)
			}
		})
	}
}

func TestStreamUnexpectedContentType(t *testing.T) {
	tests := []struct {
		name, file, contentType string
		kind                    providers.ErrorKind
	}{
		{"HTML with 200", "errors/bad_gateway.html", "text/html", providers.KindMalformed},
		{"JSON error with 200", "errors/overloaded.json", "application/json", providers.KindOverloaded},
		{"JSON message instead of a stream", "message.json", "application/json", providers.KindMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, replay(t, 200, tt.contentType, tt.file))
			s, err := newProvider(t, f.URL).Stream(context.Background(), simpleRequest())
			if s != nil {
				_ = s.Close()
				t.Fatal("got a stream")
			}
			wantKind(t, err, tt.kind)
		})
	}
}

// TestStreamTimeoutOnlyUntilHeaders: Settings.Timeout must not cut a stream
// whose headers arrived in time, however long it then runs.
func TestStreamTimeoutOnlyUntilHeaders(t *testing.T) {
	transcript := readTestdata(t, "stream.sse")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(600 * time.Millisecond)
		_, _ = w.Write(transcript)
	})
	p := newProvider(t, f.URL, func(s *providers.Settings) { s.Timeout = 200 * time.Millisecond })
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, _, err := collect(t, s); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
}

// hangingStream sends the start of a stream and then waits for the client
// to go away.
func hangingStream(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"+
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

func TestStreamCallerCancels(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFake(t, hangingStream(release))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := newProvider(t, f.URL).Stream(ctx, simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if c, err := s.Recv(); err != nil || c.Delta != "Hi" {
		t.Fatalf("Recv = %+v, %v", c, err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = s.Recv()
	wantKind(t, err, providers.KindCanceled)
}

func TestStreamCloseConcurrentWithRecv(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFake(t, hangingStream(release))
	s, err := newProvider(t, f.URL).Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Recv() // blocks: the server sends nothing more
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
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
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStreamRecvAfterClose(t *testing.T) {
	f := newFake(t, streamBody(readTestdata(t, "stream.sse")))
	s, err := newProvider(t, f.URL).Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_, err = s.Recv()
	wantKind(t, err, providers.KindCanceled)
}

func TestStreamConnectionReset(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
		_, _ = buf.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n")
		_ = buf.Flush()
		time.Sleep(50 * time.Millisecond)
		resetConn(conn)
	})
	s, err := newProvider(t, f.URL).Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	_, _, err = collect(t, s)
	wantKind(t, err, providers.KindUnavailable)
}
