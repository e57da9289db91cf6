package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/openai"
)

// testKey is a fake key; tests assert it never appears in an error.
const testKey = "sk-test-SECRET"

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorded replays a recorded response body.
type recorded struct {
	status      int
	contentType string
	header      map[string]string
	body        []byte
}

func (rec recorded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	for k, v := range rec.header {
		w.Header().Set(k, v)
	}
	if strings.HasPrefix(rec.contentType, "text/event-stream") {
		writeSSE(w, rec.status, rec.body)
		return
	}
	if rec.contentType != "" {
		w.Header().Set("Content-Type", rec.contentType)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(rec.body)
}

// writeSSE sends body event by event, flushing after each as OpenAI does.
func writeSSE(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	f, _ := w.(http.Flusher)
	for len(body) > 0 {
		i := bytes.Index(body, []byte("\n\n"))
		if i < 0 {
			i = len(body)
		} else {
			i += 2
		}
		_, _ = w.Write(body[:i])
		if f != nil {
			f.Flush()
		}
		body = body[i:]
	}
}

func jsonReply(t testing.TB, status int, file string) recorded {
	return recorded{status: status, contentType: "application/json", body: testdata(t, file)}
}

func sseReply(t testing.TB, file string) recorded {
	return recorded{status: http.StatusOK, contentType: "text/event-stream; charset=utf-8", body: testdata(t, file)}
}

// newServer starts an httptest server for h and closes it with the test.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// settings is a provider of kind "openai" pointed at srv.
func settings(srv *httptest.Server) providers.Settings {
	return providers.Settings{
		Name:       "openai-test",
		Kind:       openai.KindOpenAI,
		BaseURL:    srv.URL + "/v1",
		APIKey:     testKey,
		HTTPClient: srv.Client(),
	}
}

func build(t testing.TB, s providers.Settings) providers.Provider {
	t.Helper()
	p, err := providers.New(s)
	if err != nil {
		t.Fatalf("providers.New: %v", err)
	}
	return p
}

func userRequest(text string) *providers.Request {
	return &providers.Request{
		Model:    "gpt-4o-mini",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: text}},
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// collect reads s to its end, checking the Stream contract on the way: text
// chunks carry only text, exactly one Done chunk comes last and is followed
// by io.EOF.
func collect(t testing.TB, s providers.Stream) (deltas []string, final providers.Chunk, err error) {
	t.Helper()
	for range 10000 {
		c, err := s.Recv()
		if err != nil {
			return deltas, final, err
		}
		if c.Done {
			final = c
			for range 2 {
				if _, err := s.Recv(); !errors.Is(err, io.EOF) {
					t.Fatalf("Recv after the final chunk = %v, want io.EOF", err)
				}
			}
			return deltas, final, io.EOF
		}
		if c.Delta == "" {
			t.Fatalf("empty chunk %+v before the final chunk", c)
		}
		if c.FinishReason != "" || c.ID != "" || c.Model != "" || c.Usage != (providers.Usage{}) {
			t.Fatalf("text chunk carries metadata: %+v", c)
		}
		deltas = append(deltas, c.Delta)
	}
	t.Fatal("stream did not end")
	return nil, final, nil
}

// wantKind asserts err is a *providers.Error of kind and never leaks the key.
func wantKind(t testing.TB, err error, kind providers.ErrorKind) {
	t.Helper()
	_ = errorOfKind(t, err, kind)
}

// errorOfKind is wantKind returning the *providers.Error.
func errorOfKind(t testing.TB, err error, kind providers.ErrorKind) *providers.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %v", kind)
	}
	pe, ok := providers.AsError(err)
	if !ok {
		t.Fatalf("err = %T %v, want *providers.Error", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %v, want %v (err: %v)", pe.Kind, kind, err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatalf("error leaks the API key: %q", err.Error())
	}
	if pe.Provider == "" {
		t.Errorf("error has no provider name: %v", err)
	}
	return pe
}

// compactJSON reports whether b is valid JSON without insignificant
// whitespace.
func compactJSON(b []byte) bool {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return false
	}
	return bytes.Equal(out.Bytes(), b)
}

func isKind(err error, kinds ...providers.ErrorKind) bool {
	pe, ok := providers.AsError(err)
	if !ok {
		return false
	}
	for _, k := range kinds {
		if pe.Kind == k {
			return true
		}
	}
	return false
}
