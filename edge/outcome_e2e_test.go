package edge_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	core "github.com/careerpath/llmgateway/gateway"
	"github.com/careerpath/llmgateway/providers/sim"
	ledger "github.com/careerpath/llmgateway/usage"
)

// outcomes collects what a subscriber is handed.
type outcomes struct {
	mu   sync.Mutex
	list []*core.Outcome
}

func (c *outcomes) Outcome(_ context.Context, o *core.Outcome) {
	c.mu.Lock()
	c.list = append(c.list, o)
	c.mu.Unlock()
}

func (c *outcomes) take() []*core.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.list
	c.list = nil
	return l
}

// TestOutcomeSubscriber: a subscriber added with one line is handed one
// outcome per call, gRPC or REST, unary or streamed, that says what the
// response says, and one for a call that failed.
func TestOutcomeSubscriber(t *testing.T) {
	g := startGateway(t, sim.Config{})
	got := &outcomes{}
	g.srv.Service().Subscribe(got)

	resp, err := g.client.Complete(ctxT(t), request("career_advice", "u1"))
	if err != nil {
		t.Fatal(err)
	}
	os := got.take()
	if len(os) != 1 {
		t.Fatalf("%d outcomes for one call", len(os))
	}
	o := os[0]
	if o.Err != nil || o.Stream || o.ResponseID != resp.Id || o.Provider != resp.Provider || o.Model != resp.Model ||
		o.Decision.Route != resp.Route || o.Decision.Variant != resp.Variant || o.Cost != ledger.FromUSD(resp.CostUsd) ||
		o.Usage.InputTokens != int64(resp.Usage.InputTokens) || o.Usage.OutputTokens != int64(resp.Usage.OutputTokens) ||
		o.ServedFrom != resp.ServedFrom || o.Step != resp.Step || o.Latency <= 0 || o.Client == "" {
		t.Errorf("outcome %+v for response %v", o, resp)
	}

	// A REST stream.
	body := `{"route": "career_advice", "messages": [{"role": "ROLE_USER", "content": "Hi"}]}`
	hreq, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://"+g.httpAddr+"/v1/stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(hresp.Body)
	for sc.Scan() {
	}
	_ = hresp.Body.Close()
	os = got.take()
	if len(os) != 1 || !os[0].Stream || os[0].Err != nil || os[0].TTFT <= 0 || os[0].Provider == "" {
		t.Fatalf("stream outcomes %+v", os)
	}

	// A call that fails: the outcome says how.
	if _, err := g.client.Complete(ctxT(t), request("no_such_route", "u1")); err == nil {
		t.Fatal("an unknown route was answered")
	}
	os = got.take()
	if len(os) != 1 || os[0].Err == nil || os[0].Decision != nil {
		t.Fatalf("failed call outcomes %+v", os)
	}
}
