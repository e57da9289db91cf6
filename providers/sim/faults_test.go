package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers/sim"
)

func TestFaultStatus(t *testing.T) {
	e := start(t, sim.Config{})
	for _, tc := range []struct {
		status             int
		retryAfter         string
		openAIType, anType string
		openAICode         string
	}{
		{429, "7", "requests", "rate_limit_error", "rate_limit_exceeded"},
		{529, "", "server_error", "overloaded_error", ""},
		{503, "30", "server_error", "api_error", ""},
		{500, "", "server_error", "api_error", ""},
		{401, "", "invalid_request_error", "authentication_error", "invalid_api_key"},
		{404, "", "invalid_request_error", "not_found_error", "model_not_found"},
	} {
		for _, anthropic := range []bool{false, true} {
			path, body := sim.PathChatCompletions, chatBody
			typ := tc.openAIType
			if anthropic {
				path, body, typ = sim.PathMessages, messagesBody, tc.anType
			}
			t.Run(path+"/"+http.StatusText(tc.status), func(t *testing.T) {
				if err := e.srv.SetFault(sim.Fault{Status: tc.status, RetryAfter: tc.retryAfter}); err != nil {
					t.Fatal(err)
				}
				defer e.srv.ClearFaults()
				for _, stream := range []bool{false, true} {
					b := body
					if stream {
						b = strings.Replace(body, `{`, `{"stream":true,`, 1)
					}
					resp, got := e.post(path, b)
					if resp.StatusCode != tc.status {
						t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
					}
					if ra := resp.Header.Get("Retry-After"); ra != tc.retryAfter {
						t.Errorf("Retry-After = %q, want %q", ra, tc.retryAfter)
					}
					if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type = %q", ct)
					}
					checkErrorShape(t, got, anthropic, typ, "")
					if !anthropic {
						var o oaError
						mustJSON(t, string(got), &o)
						if (tc.openAICode == "") != (o.Error.Code == nil) || (o.Error.Code != nil && *o.Error.Code != tc.openAICode) {
							t.Errorf("code = %v, want %q", o.Error.Code, tc.openAICode)
						}
					}
				}
			})
		}
	}
}

func TestFaultContextLength(t *testing.T) {
	e := start(t, sim.Config{})
	if err := e.srv.SetFault(sim.Fault{ContextLength: true}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.post(sim.PathChatCompletions, chatBody)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	checkErrorShape(t, body, false, "invalid_request_error", "maximum context length")
	var o oaError
	mustJSON(t, string(body), &o)
	if o.Error.Code == nil || *o.Error.Code != "context_length_exceeded" || o.Error.Param == nil || *o.Error.Param != "messages" {
		t.Errorf("OpenAI context error = %s", body)
	}
	resp, body = e.post(sim.PathMessages, messagesBody)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	checkErrorShape(t, body, true, "invalid_request_error", "prompt is too long")
}

func TestFaultInsufficientQuota(t *testing.T) {
	e := start(t, sim.Config{})
	var f sim.Fault
	if err := json.Unmarshal([]byte(`{"insufficient_quota": true}`), &f); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetFault(f); err != nil {
		t.Fatal(err)
	}
	resp, body := e.post(sim.PathChatCompletions, chatBody)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
	checkErrorShape(t, body, false, "insufficient_quota", "exceeded your current quota")
	var o oaError
	mustJSON(t, string(body), &o)
	if o.Error.Code == nil || *o.Error.Code != "insufficient_quota" {
		t.Errorf("OpenAI quota error = %s", body)
	}
	resp, body = e.post(sim.PathMessages, messagesBody)
	if resp.StatusCode != http.StatusPaymentRequired {
		t.Fatalf("status %d, want 402", resp.StatusCode)
	}
	checkErrorShape(t, body, true, "billing_error", "credit balance")
	if n := e.srv.Stats().FaultsByKind["insufficient_quota"]; n != 2 {
		t.Errorf("faults_by_kind insufficient_quota = %d, want 2", n)
	}
	if err := e.srv.SetFault(sim.Fault{InsufficientQuota: true, Hang: true}); err == nil {
		t.Error("insufficient_quota with hang accepted")
	}
}

func TestFaultHangHonoursCancellation(t *testing.T) {
	e := start(t, sim.Config{})
	if err := e.srv.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, body string }{
		{sim.PathChatCompletions, chatBody},
		{sim.PathMessages, messagesStreamBody},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		began := time.Now()
		_, _, err := e.do(ctx, http.MethodPost, tc.path, tc.body)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want the client's deadline", tc.path, err)
		}
		if d := time.Since(began); d < 100*time.Millisecond {
			t.Errorf("%s: answered after %v, want a hang", tc.path, d)
		}
		e.waitIdle() // the handler returned once the client went away
	}
	if st := e.srv.Stats(); st.FaultsByKind["hang"] != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultHangReleasedByStop(t *testing.T) {
	srv, base, stop, err := sim.Start(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := srv.SetFault(sim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Post(base+sim.PathChatCompletions, "application/json", strings.NewReader(chatBody))
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	for srv.Stats().InFlight == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(3 * time.Second):
		t.Fatal("stop did not release a hanging request")
	}
	if err := <-done; err == nil {
		t.Error("hanging request got an answer, want a dropped connection")
	}
}

func TestFaultDisconnectMidStream(t *testing.T) {
	e := start(t, sim.Config{InterToken: time.Millisecond})
	for _, after := range []int{0, 3, 99} {
		for _, tc := range []struct {
			path, body, tokenMarker, terminal string
		}{
			{sim.PathChatCompletions, chatStreamBody, `"content":"`, "[DONE]"},
			{sim.PathMessages, strings.Replace(messagesStreamBody, `"max_tokens":5`, `"max_tokens":6`, 1), `"text_delta"`, `{"type":"message_stop"}`},
		} {
			if err := e.srv.SetFault(sim.Fault{DisconnectAfterTokens: after, Disconnect: true}); err != nil {
				t.Fatal(err)
			}
			resp, events, err := e.postStream(tc.path, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s after %d: stream ended with %v, want io.ErrUnexpectedEOF", tc.path, after, err)
			}
			tokens := 0
			for _, ev := range events {
				if strings.Contains(ev.data, tc.tokenMarker) && !strings.Contains(ev.data, `"content":""`) {
					tokens++
				}
				if ev.data == tc.terminal || strings.Contains(ev.data, `"finish_reason":"`) || ev.name == "message_delta" {
					t.Errorf("%s: terminal event %q sent before the disconnect", tc.path, ev.data)
				}
			}
			if want := min(after, 6); tokens != want {
				t.Errorf("%s: %d tokens before the disconnect, want %d", tc.path, tokens, want)
			}
			if len(events) == 0 {
				t.Errorf("%s: no opening event before the disconnect", tc.path)
			}
		}
	}
	e.srv.ClearFaults()
	e.waitIdle()
}

func TestFaultDisconnectUnary(t *testing.T) {
	e := start(t, sim.Config{})
	if err := e.srv.SetFault(sim.Fault{Disconnect: true}); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.do(t.Context(), http.MethodPost, sim.PathMessages, messagesBody)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestFaultMalformed(t *testing.T) {
	e := start(t, sim.Config{})

	if err := e.srv.SetFault(sim.Fault{Malformed: sim.MalformedHTML}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.post(sim.PathChatCompletions, chatBody)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html>") {
		t.Errorf("html: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	if err := e.srv.SetFault(sim.Fault{Malformed: sim.MalformedJSON}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, body string }{{sim.PathChatCompletions, chatBody}, {sim.PathMessages, messagesBody}} {
		resp, body = e.post(tc.path, tc.body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if json.Valid(body) || len(body) == 0 {
			t.Errorf("%s: body is valid JSON: %s", tc.path, body)
		}
	}
	for _, tc := range []struct{ path, body, terminal string }{
		{sim.PathChatCompletions, chatStreamBody, "[DONE]"},
		{sim.PathMessages, messagesStreamBody, `{"type":"message_stop"}`},
	} {
		_, events, err := e.postStream(tc.path, tc.body)
		if !errors.Is(err, io.EOF) {
			t.Errorf("%s: %v", tc.path, err)
		}
		broken := 0
		for _, ev := range events {
			if ev.data != "[DONE]" && !json.Valid([]byte(ev.data)) {
				broken++
			}
		}
		if broken != 1 || len(events) < 3 || events[len(events)-1].data != tc.terminal {
			t.Errorf("%s: %d broken events in %+v", tc.path, broken, events)
		}
	}
}

func TestFaultCountAndPath(t *testing.T) {
	e := start(t, sim.Config{})
	if err := e.srv.SetFault(sim.Fault{Status: 429, Count: 3, Path: sim.PathMessages}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if resp, _ := e.post(sim.PathChatCompletions, chatBody); resp.StatusCode != http.StatusOK {
			t.Fatalf("fault limited to %s hit %s", sim.PathMessages, sim.PathChatCompletions)
		}
	}
	var codes []int
	for range 5 {
		resp, _ := e.post(sim.PathMessages, messagesBody)
		codes = append(codes, resp.StatusCode)
	}
	if want := []int{429, 429, 429, 200, 200}; !slices.Equal(codes, want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
	if fs := e.srv.Faults(); len(fs) != 0 {
		t.Errorf("used-up fault still installed: %+v", fs)
	}
	if st := e.srv.Stats(); st.FaultsInjected != 3 || st.FaultsByKind["status"] != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultCountUnderConcurrency(t *testing.T) {
	e := start(t, sim.Config{})
	if err := e.srv.SetFaults(sim.Fault{Status: 500, Count: 25}, sim.Fault{Status: 503, Count: 10}); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				resp, _, err := e.do(context.Background(), http.MethodPost, sim.PathChatCompletions, chatBody)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if counts[500] != 25 || counts[503] != 10 || counts[200] != 160-35 {
		t.Errorf("statuses %v, want 25×500, 10×503, 125×200", counts)
	}
}

func TestFaultProbability(t *testing.T) {
	e := start(t, sim.Config{})
	if err := e.srv.SetFault(sim.Fault{Status: 500, Probability: 0.5}); err != nil {
		t.Fatal(err)
	}
	const n = 400
	hits := 0
	for range n {
		if resp, _ := e.post(sim.PathChatCompletions, chatBody); resp.StatusCode == http.StatusInternalServerError {
			hits++
		}
	}
	// Binomial(400, 0.5) has a standard deviation of 10: ±80 is 8σ.
	if hits < n/2-80 || hits > n/2+80 {
		t.Errorf("%d of %d requests hit with probability 0.5", hits, n)
	}
	if st := e.srv.Stats(); st.FaultsInjected != int64(hits) {
		t.Errorf("faults_injected = %d, want %d", st.FaultsInjected, hits)
	}

	// Probability and count together: count only spends on hits.
	if err := e.srv.SetFault(sim.Fault{Status: 500, Probability: 0.25, Count: 5}); err != nil {
		t.Fatal(err)
	}
	hits = 0
	for range n {
		if resp, _ := e.post(sim.PathChatCompletions, chatBody); resp.StatusCode == http.StatusInternalServerError {
			hits++
		}
	}
	if hits != 5 {
		t.Errorf("%d hits, want exactly count=5", hits)
	}
}

func TestFaultValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    sim.Fault
		ok   bool
	}{
		{"empty", sim.Fault{}, false},
		{"status", sim.Fault{Status: 429, RetryAfter: "1"}, true},
		{"status not an error", sim.Fault{Status: 200}, false},
		{"two effects", sim.Fault{Status: 500, Hang: true}, false},
		{"retry-after alone", sim.Fault{RetryAfter: "1", Hang: true}, false},
		{"probability", sim.Fault{Hang: true, Probability: 1.5}, false},
		{"count", sim.Fault{Hang: true, Count: -1}, false},
		{"path", sim.Fault{Hang: true, Path: "/v1/completions"}, false},
		{"embeddings path", sim.Fault{Hang: true, Path: sim.PathEmbeddings}, true},
		{"disconnect at zero", sim.Fault{Disconnect: true}, true},
		{"malformed kind", sim.Fault{Malformed: "xml"}, false},
	} {
		if err := tc.f.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestFaultJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want sim.Fault
		out  string
	}{
		{`{"disconnect_after_tokens":0}`, sim.Fault{Disconnect: true}, `{"disconnect_after_tokens":0}`},
		{`{"disconnect_after_tokens":4,"count":2}`, sim.Fault{Disconnect: true, DisconnectAfterTokens: 4, Count: 2}, `{"disconnect_after_tokens":4,"count":2}`},
		{`{"malformed":true}`, sim.Fault{Malformed: sim.MalformedJSON}, `{"malformed":"json"}`},
		{`{"malformed":"sse"}`, sim.Fault{Malformed: sim.MalformedJSON}, `{"malformed":"json"}`},
		{`{"status":529,"retry_after":"3","probability":0.5,"path":"/v1/messages"}`,
			sim.Fault{Status: 529, RetryAfter: "3", Probability: 0.5, Path: sim.PathMessages},
			`{"status":529,"retry_after":"3","probability":0.5,"path":"/v1/messages"}`},
		{`{"context_length":true}`, sim.Fault{ContextLength: true}, `{"context_length":true}`},
	} {
		var f sim.Fault
		if err := json.Unmarshal([]byte(tc.in), &f); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if f != tc.want {
			t.Errorf("%s decoded to %+v, want %+v", tc.in, f, tc.want)
		}
		if out, _ := json.Marshal(f); string(out) != tc.out {
			t.Errorf("%s encoded to %s, want %s", tc.in, out, tc.out)
		}
	}
	var f sim.Fault
	if err := json.Unmarshal([]byte(`{"status":500,"sttaus":1}`), &f); err == nil {
		t.Error("unknown field accepted")
	}
}
