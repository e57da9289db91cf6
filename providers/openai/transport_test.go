package openai_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// reset hijacks the connection and closes it with an RST.
func reset(t testing.TB, w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	_ = buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func TestConnectionReset(t *testing.T) {
	t.Run("before response", func(t *testing.T) {
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reset(t, w)
		}))
		p := build(t, settings(srv))
		_, err := p.Complete(ctxTimeout(t, 10*time.Second), userRequest("hi"))
		pe := errorOfKind(t, err, providers.KindUnavailable)
		if !pe.Retryable() {
			t.Error("a reset connection should be retryable")
		}
		_, err = p.Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
		wantKind(t, err, providers.KindUnavailable)
	})
	t.Run("mid-stream", func(t *testing.T) {
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeSSE(w, 200, testdata(t, "stream_truncated.sse"))
			reset(t, w)
		}))
		s, err := build(t, settings(srv)).Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		_, _, err = collect(t, s)
		// Depending on timing the client sees the RST or the cut chunked
		// body: either way a retryable failure, never a clean end.
		if !isKind(err, providers.KindUnavailable, providers.KindTruncated) {
			t.Fatalf("err = %v, want unavailable or truncated", err)
		}
	})
	t.Run("mid-body unary", func(t *testing.T) {
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { _ = conn.Close() }()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":\"chatcmpl-1\",\"choi")
			_ = buf.Flush()
		}))
		_, err := build(t, settings(srv)).Complete(ctxTimeout(t, 10*time.Second), userRequest("hi"))
		wantKind(t, err, providers.KindUnavailable)
	})
}

// hang never answers, until the client goes away. (The server notices
// that only once the request body has been read.)
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// hangAfterHeaders sends 200 headers and then nothing.
func hangAfterHeaders(contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

// statusThenHang sends the status line and headers, then nothing.
func statusThenHang(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

func TestTimeouts(t *testing.T) {
	const attempt = 150 * time.Millisecond
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		stream   bool
		cancelIn time.Duration // caller cancels after this; 0 means never
		wantKind providers.ErrorKind
	}{
		{"unary attempt timeout", hang, false, 0, providers.KindTimeout},
		{"unary attempt timeout during body", hangAfterHeaders("application/json"), false, 0, providers.KindTimeout},
		{"unary caller cancels", hang, false, 50 * time.Millisecond, providers.KindCanceled},
		{"stream header timeout", hang, true, 0, providers.KindTimeout},
		{"stream caller cancels before headers", hang, true, 50 * time.Millisecond, providers.KindCanceled},
		{"unary error body never arrives", statusThenHang(500), false, 0, providers.KindServer},
		{"stream error body never arrives", statusThenHang(429), true, 0, providers.KindRateLimited},
		{"stream JSON body never arrives", hangAfterHeaders("application/json"), true, 0, providers.KindTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handler)
			s := settings(srv)
			s.Timeout = attempt
			if tt.cancelIn > 0 {
				s.Timeout = time.Minute
			}
			p := build(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if tt.cancelIn > 0 {
				time.AfterFunc(tt.cancelIn, cancel)
			}
			start := time.Now()
			var err error
			if tt.stream {
				var st providers.Stream
				st, err = p.Stream(ctx, userRequest("hi"))
				if err == nil {
					_ = st.Close()
				}
			} else {
				_, err = p.Complete(ctx, userRequest("hi"))
			}
			wantKind(t, err, tt.wantKind)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// Settings.Timeout bounds a stream only until its headers arrive.
func TestStreamTimeoutOnlyUntilHeaders(t *testing.T) {
	body := testdata(t, "stream.sse")
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		time.Sleep(400 * time.Millisecond)
		_, _ = w.Write(body)
	}))
	s := settings(srv)
	s.Timeout = 100 * time.Millisecond
	st, err := build(t, s).Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	if _, _, err := collect(t, st); !errors.Is(err, io.EOF) {
		t.Fatalf("stream failed after the header timeout: %v", err)
	}
}

// An unreachable host is unavailable, and says so quickly.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := build(t, providers.Settings{Name: "down", Kind: "openai-compatible", BaseURL: "http://" + addr + "/v1", APIKey: testKey})
	_, err = p.Complete(ctxTimeout(t, 10*time.Second), userRequest("hi"))
	wantKind(t, err, providers.KindUnavailable)
	_, err = p.Stream(ctxTimeout(t, 10*time.Second), userRequest("hi"))
	wantKind(t, err, providers.KindUnavailable)
}
