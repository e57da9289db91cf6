package sim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/providers/sim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// simEnv is one simulator on a real socket with its own client.
type simEnv struct {
	t      *testing.T
	srv    *sim.Server
	base   string
	client *http.Client
}

func start(t *testing.T, cfg sim.Config) *simEnv {
	t.Helper()
	srv, base, stop, err := sim.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	e := &simEnv{t: t, srv: srv, base: base, client: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		stop()
	})
	return e
}

// do sends method path with body and headers ("Name: value") and returns
// the response with its whole body read.
func (e *simEnv) do(ctx context.Context, method, path, body string, headers ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// post sends a POST and fails the test on transport errors.
func (e *simEnv) post(path, body string, headers ...string) (*http.Response, []byte) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, b, err := e.do(ctx, http.MethodPost, path, body, headers...)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	return resp, b
}

// control sends a control request and decodes the JSON answer into out
// (when not nil), returning the status.
func (e *simEnv) control(method, path, body string, out any) int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, b, err := e.do(ctx, method, path, body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// waitIdle waits until no wire request is in flight.
func (e *simEnv) waitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Stats().InFlight != 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("requests still in flight: %+v", e.srv.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data string
}

// readSSE reads events until the body ends. It returns io.EOF after a
// clean end and the transport's error (io.ErrUnexpectedEOF for a
// connection dropped mid-body) otherwise. An event cut off by the end is
// dropped.
func readSSE(r io.Reader) ([]sseEvent, error) {
	br := bufio.NewReader(r)
	var (
		events []sseEvent
		ev     sseEvent
		has    bool
	)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return events, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if has {
				events = append(events, ev)
			}
			ev, has = sseEvent{}, false
		case strings.HasPrefix(line, ":"):
		case field == "event":
			ev.name, has = value, true
		case field == "data":
			if has && ev.data != "" {
				ev.data += "\n"
			}
			ev.data += value
			has = true
		}
	}
}

// postStream sends a streaming request and reads its events.
func (e *simEnv) postStream(path, body string, headers ...string) (*http.Response, []sseEvent, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	events, err := readSSE(resp.Body)
	return resp, events, err
}

func mustJSON(t *testing.T, data string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("invalid JSON %q: %v", data, err)
	}
}

// Wire types the tests decode into, as a client of each vendor would.

type oaUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens *int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

type oaCompletion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta *struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *oaUsage `json:"usage"`
}

type oaError struct {
	Error *struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type anUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             int  `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
}

type anMessage struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Role    string `json:"role"`
	Model   string `json:"model"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason *string `json:"stop_reason"`
	Usage      anUsage `json:"usage"`
}

type anEvent struct {
	Type    string     `json:"type"`
	Message *anMessage `json:"message"`
	Index   *int       `json:"index"`
	Delta   *struct {
		Type       string  `json:"type"`
		Text       string  `json:"text"`
		StopReason *string `json:"stop_reason"`
	} `json:"delta"`
	ContentBlock *struct {
		Type string `json:"type"`
	} `json:"content_block"`
	Usage *anUsage `json:"usage"`
}

type anError struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}
