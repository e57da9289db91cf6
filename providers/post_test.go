package providers_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

func TestNewPostCopiesTheBodyAndWritesItWithTheHead(t *testing.T) {
	got := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer srv.Close()
	var writes atomic.Int64
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &writeCounter{Conn: c, n: &writes}, nil
	}}}
	defer client.CloseIdleConnections()

	buf := []byte(`{"model":"m"}`)
	req, err := providers.NewPost(context.Background(), srv.URL, buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX") // the caller reuses its buffer at once
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if b := <-got; b != `{"model":"m"}` {
		t.Errorf("server read %q", b)
	}
	if n := writes.Load(); n != 1 {
		t.Errorf("the request took %d writes, want 1 (head and body together)", n)
	}
	if req.ContentLength != int64(len(`{"model":"m"}`)) || req.GetBody == nil {
		t.Fatalf("ContentLength %d, GetBody set %v", req.ContentLength, req.GetBody != nil)
	}
	again, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(again); string(b) != `{"model":"m"}` {
		t.Errorf("GetBody replays %q", b)
	}
}

type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c *writeCounter) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}
