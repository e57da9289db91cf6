package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
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

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     func(string) string
		want    options
		wantErr string
	}{
		{
			name: "defaults",
			env:  env(),
			want: options{addr: "127.0.0.1:8090", cfg: sim.Config{AnswerTokens: 24}},
		},
		{
			name: "flags",
			args: []string{"-addr", ":0", "-latency", "150ms", "-ttft", "1s", "-inter-token", "20ms", "-answer-tokens", "7", "-require-api-key", "k"},
			env:  env(),
			want: options{addr: ":0", cfg: sim.Config{Latency: 150 * time.Millisecond, TTFT: time.Second, InterToken: 20 * time.Millisecond, AnswerTokens: 7, RequireAPIKey: "k"}},
		},
		{
			name: "environment fallback",
			env: env("LLMSIM_ADDR", "0.0.0.0:9", "LLMSIM_LATENCY", "5ms", "LLMSIM_TTFT", "6ms", "LLMSIM_INTER_TOKEN", "7ms",
				"LLMSIM_ANSWER_TOKENS", "8", "LLMSIM_REQUIRE_API_KEY", "sk-env"),
			want: options{addr: "0.0.0.0:9", cfg: sim.Config{Latency: 5 * time.Millisecond, TTFT: 6 * time.Millisecond, InterToken: 7 * time.Millisecond, AnswerTokens: 8, RequireAPIKey: "sk-env"}},
		},
		{
			name: "flags win over environment",
			args: []string{"-latency", "1ms", "-answer-tokens", "3"},
			env:  env("LLMSIM_LATENCY", "5ms", "LLMSIM_ANSWER_TOKENS", "8"),
			want: options{addr: "127.0.0.1:8090", cfg: sim.Config{Latency: time.Millisecond, AnswerTokens: 3}},
		},
		{name: "bad environment", env: env("LLMSIM_LATENCY", "soon"), wantErr: "LLMSIM_LATENCY"},
		{name: "negative", args: []string{"-inter-token", "-1s"}, env: env(), wantErr: "inter_token"},
		{name: "stray argument", args: []string{"serve"}, env: env(), wantErr: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, tc.env, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags([]string{"--help"}, env("LLMSIM_REQUIRE_API_KEY", "sk-secret"), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "-latency", "-ttft", "-inter-token", "-answer-tokens", "-require-api-key",
		"LLMSIM_ADDR", "LLMSIM_LATENCY", "LLMSIM_TTFT", "LLMSIM_INTER_TOKEN", "LLMSIM_ANSWER_TOKENS", "LLMSIM_REQUIRE_API_KEY", "/_sim/fault"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "sk-secret") {
		t.Error("help shows the API key from the environment")
	}
}

func TestServe(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, options{addr: "127.0.0.1:0", cfg: sim.Config{RequireAPIKey: "sk-k"}}, logger, func(a string) { addrc <- a })
	}()
	addr := <-addrc
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}

	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-k")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"chat.completion"`) {
		t.Errorf("chat: %d %s", resp.StatusCode, body)
	}

	// A hanging request must not hold up shutdown.
	if r, err := client.Do(mustRequest(http.MethodPut, "http://"+addr+"/_sim/fault", `{"hang":true}`)); err != nil {
		t.Fatal(err)
	} else {
		_ = r.Body.Close()
	}
	hung := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/messages",
			strings.NewReader(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("x-api-key", "sk-k")
		r, err := client.Do(req)
		if err == nil {
			_ = r.Body.Close()
		}
		hung <- err
	}()
	time.Sleep(50 * time.Millisecond)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
	if err := <-hung; err == nil {
		t.Error("hanging request was answered")
	}
	tr.CloseIdleConnections()

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Errorf("want a start and a shutdown line, got %q", lines)
	}
	var start map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &start); err != nil {
		t.Fatalf("start line is not JSON: %s", lines[0])
	}
	if start["msg"] != "llmsim listening" || start["addr"] != addr || start["require_api_key"] != true {
		t.Errorf("start line = %s", lines[0])
	}
	if strings.Contains(logs.String(), "sk-k") {
		t.Error("logs show the API key")
	}
}

func mustRequest(method, url, body string) *http.Request {
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	return r
}
