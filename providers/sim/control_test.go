package sim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers/sim"
)

func TestControlConfig(t *testing.T) {
	e := start(t, sim.Config{AnswerTokens: 5})
	var cfg sim.Config
	if st := e.control("GET", "/_sim/config", "", &cfg); st != 200 || cfg.AnswerTokens != 5 {
		t.Fatalf("GET config: %d %+v", st, cfg)
	}
	if st := e.control("PUT", "/_sim/config", `{"latency":"20ms","answer_tokens":3}`, &cfg); st != 200 ||
		cfg != (sim.Config{Latency: 20 * time.Millisecond, AnswerTokens: 3}) {
		t.Fatalf("PUT config: %d %+v", st, cfg)
	}
	if st := e.control("PATCH", "/_sim/config", `{"inter_token":"1ms"}`, &cfg); st != 200 ||
		cfg != (sim.Config{Latency: 20 * time.Millisecond, InterToken: time.Millisecond, AnswerTokens: 3}) {
		t.Fatalf("PATCH config: %d %+v", st, cfg)
	}
	if e.srv.Config() != cfg {
		t.Errorf("Config() = %+v, want %+v", e.srv.Config(), cfg)
	}
	// The new config applies to the next request.
	began := time.Now()
	_, body := e.post(sim.PathChatCompletions, chatBody)
	if d := time.Since(began); d < 20*time.Millisecond {
		t.Errorf("answered in %v with 20ms latency", d)
	}
	var c oaCompletion
	mustJSON(t, string(body), &c)
	if c.Usage.CompletionTokens != 3 {
		t.Errorf("answer_tokens 3 gave %d tokens", c.Usage.CompletionTokens)
	}
	for _, bad := range []string{`{"latency":"-1s"}`, `{"latency":150}`, `{"latency":"soon"}`, `{"answer_tokenz":3}`, `{"answer_tokens":-2}`, `{} {}`, `[`} {
		if st := e.control("PUT", "/_sim/config", bad, nil); st != 400 {
			t.Errorf("PUT %s: status %d, want 400", bad, st)
		}
	}
	if e.srv.Config() != cfg {
		t.Errorf("a refused config changed the live one: %+v", e.srv.Config())
	}
	if st := e.control("POST", "/_sim/config", `{}`, nil); st != 405 {
		t.Errorf("POST config: %d", st)
	}
}

func TestControlFaults(t *testing.T) {
	e := start(t, sim.Config{})
	var fs []sim.Fault
	if st := e.control("GET", "/_sim/fault", "", &fs); st != 200 || len(fs) != 0 {
		t.Fatalf("GET faults: %d %+v", st, fs)
	}
	if st := e.control("PUT", "/_sim/fault", `{"status":429,"retry_after":"1","count":2}`, &fs); st != 200 || len(fs) != 1 || fs[0].Status != 429 {
		t.Fatalf("PUT fault: %d %+v", st, fs)
	}
	e.post(sim.PathChatCompletions, chatBody)
	if st := e.control("GET", "/_sim/fault", "", &fs); st != 200 || len(fs) != 1 || fs[0].Count != 1 {
		t.Errorf("after one hit: %+v, want count 1 remaining", fs)
	}
	if st := e.control("POST", "/_sim/fault", `[{"hang":true,"path":"/v1/messages"},{"malformed":"html"}]`, &fs); st != 200 || len(fs) != 3 {
		t.Errorf("POST faults: %d %+v", st, fs)
	}
	if st := e.control("PUT", "/_sim/fault", `[{"status":503},{"context_length":true}]`, &fs); st != 200 || len(fs) != 2 {
		t.Errorf("PUT faults: %d %+v", st, fs)
	}
	for _, bad := range []string{`{}`, `{"status":99}`, `{"status":500,"hang":true}`, `{"status":500,"colour":"red"}`, `[{"status":500},{}]`, `nope`} {
		if st := e.control("PUT", "/_sim/fault", bad, nil); st != 400 {
			t.Errorf("PUT %s: status %d, want 400", bad, st)
		}
	}
	if n := len(e.srv.Faults()); n != 2 {
		t.Errorf("a refused fault changed the installed ones: %d faults", n)
	}
	if st := e.control("DELETE", "/_sim/fault", "", &fs); st != 200 || len(fs) != 0 {
		t.Errorf("DELETE faults: %d %+v", st, fs)
	}
	if resp, _ := e.post(sim.PathChatCompletions, chatBody); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d after clearing faults", resp.StatusCode)
	}
}

func TestControlStatsAndHealth(t *testing.T) {
	e := start(t, sim.Config{})
	e.post(sim.PathChatCompletions, chatBody)
	e.post(sim.PathMessages, messagesStreamBody)
	e.post(sim.PathMessages, messagesBody)
	var st sim.Stats
	if code := e.control("GET", "/_sim/stats", "", &st); code != 200 {
		t.Fatalf("GET stats: %d", code)
	}
	if st.Requests[sim.PathChatCompletions] != 1 || st.Requests[sim.PathMessages] != 2 || st.Streams != 1 || st.InFlight != 0 {
		t.Errorf("stats = %+v", st)
	}
	var health struct{ Status string }
	if code := e.control("GET", "/healthz", "", &health); code != 200 || health.Status != "ok" {
		t.Errorf("healthz: %d %+v", code, health)
	}
	if code := e.control("DELETE", "/_sim/stats", "", &st); code != 200 || st.Requests[sim.PathMessages] != 0 {
		t.Errorf("DELETE stats: %d %+v", code, st)
	}
	if code := e.control("GET", "/_sim/nope", "", nil); code != 404 {
		t.Errorf("unknown control endpoint: %d", code)
	}
}

func TestStreamPacing(t *testing.T) {
	const (
		latency = 30 * time.Millisecond
		ttft    = 40 * time.Millisecond
		gap     = 15 * time.Millisecond
		tokens  = 4
	)
	e := start(t, sim.Config{Latency: latency, TTFT: ttft, InterToken: gap})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.base+sim.PathMessages,
		strings.NewReader(strings.Replace(messagesStreamBody, `"max_tokens":5`, `"max_tokens":4`, 1)))
	began := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	headers := time.Since(began)
	// Read event by event, noting when each token arrives.
	var arrivals []time.Duration
	buf := make([]byte, 4096)
	var pending string
	for {
		n, err := resp.Body.Read(buf)
		pending += string(buf[:n])
		for strings.Contains(pending, "\n\n") {
			ev, rest, _ := strings.Cut(pending, "\n\n")
			pending = rest
			if strings.HasPrefix(ev, "event: content_block_delta") {
				arrivals = append(arrivals, time.Since(began))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if headers < latency {
		t.Errorf("headers after %v, want ≥ latency %v", headers, latency)
	}
	if len(arrivals) != tokens {
		t.Fatalf("%d tokens, want %d", len(arrivals), tokens)
	}
	if arrivals[0] < latency+ttft {
		t.Errorf("first token after %v, want ≥ latency+ttft %v", arrivals[0], latency+ttft)
	}
	if spread := arrivals[tokens-1] - arrivals[0]; spread < (tokens-1)*gap {
		t.Errorf("tokens spread over %v, want ≥ %v (flushed one by one)", spread, (tokens-1)*gap)
	}
}

func TestStreamClientGoesAway(t *testing.T) {
	e := start(t, sim.Config{InterToken: 20 * time.Millisecond, AnswerTokens: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base+sim.PathChatCompletions, strings.NewReader(
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"long"}]}`))
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
	e.waitIdle() // the 20-second stream stopped with its client
}

// TestLiveChanges switches config and faults while requests are in flight;
// run with -race.
func TestLiveChanges(t *testing.T) {
	e := start(t, sim.Config{})
	stopSwitching := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stopSwitching:
				return
			default:
			}
			_ = e.srv.SetConfig(sim.Config{AnswerTokens: 1 + i%7})
			if i%3 == 0 {
				_ = e.srv.SetFault(sim.Fault{Status: 503, Count: 2})
			} else {
				e.srv.ClearFaults()
			}
			_ = e.srv.Stats()
			time.Sleep(100 * time.Microsecond)
		}
	})
	var clients sync.WaitGroup
	for range 4 {
		clients.Go(func() {
			for range 50 {
				resp, body, err := e.do(context.Background(), http.MethodPost, sim.PathChatCompletions, chatStreamBody)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("status %d: %s", resp.StatusCode, body)
				}
			}
		})
	}
	clients.Wait()
	close(stopSwitching)
	wg.Wait()
}
