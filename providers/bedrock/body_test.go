package bedrock

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// closingBody behaves like the SDK's request body: once closed, reads
// fail. After its bytes it holds the read that checks for the end until it
// is closed (or a moment passes), which is the order that cut streams.
type closingBody struct {
	r        *bytes.Reader
	closed   chan struct{}
	once     sync.Once
	released <-chan time.Time
}

func (b *closingBody) Read(p []byte) (int, error) {
	if b.r.Len() > 0 {
		return b.r.Read(p)
	}
	select {
	case <-b.closed:
		return 0, io.ErrClosedPipe
	case <-b.released:
		return 0, io.EOF
	}
}

func (b *closingBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// TestOwnBodyClientKeepsStreamingResponse closes the request body as soon
// as the response headers arrive, as the SDK does, and reads a response
// that is still arriving.
func TestOwnBodyClientKeepsStreamingResponse(t *testing.T) {
	const body = `{"messages":[]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); string(b) != body {
			t.Errorf("request body %q", b)
		}
		_, _ = io.WriteString(w, "first ")
		_ = http.NewResponseController(w).Flush()
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "last")
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	for _, tc := range []struct {
		name   string
		client interface {
			Do(*http.Request) (*http.Response, error)
		}
		wantErr bool
	}{
		{"SDK body straight to the transport", &http.Client{Transport: tr}, true},
		{"own body", ownBodyClient{next: &http.Client{Transport: tr}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &closingBody{r: bytes.NewReader([]byte(body)), closed: make(chan struct{}), released: time.After(200 * time.Millisecond)}
			req, err := http.NewRequest(http.MethodPost, srv.URL, in)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(body))
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = in.Close()
			got, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if tc.wantErr {
				if err == nil || errors.Is(err, io.EOF) {
					t.Errorf("read %q, %v; want the connection closed under the response", got, err)
				}
				return
			}
			if err != nil || !strings.HasSuffix(string(got), "last") {
				t.Errorf("read %q, %v", got, err)
			}
		})
	}
}
