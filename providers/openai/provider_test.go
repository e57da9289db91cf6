package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/openai"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the requests the backend sends")

func TestRegistered(t *testing.T) {
	kinds := providers.Kinds()
	for _, k := range []string{openai.KindOpenAI, openai.KindCompatible} {
		if !slices.Contains(kinds, k) {
			t.Errorf("kind %q not registered (have %v)", k, kinds)
		}
	}
}

func TestFactory(t *testing.T) {
	tests := []struct {
		name    string
		s       providers.Settings
		wantErr string // "" means success
	}{
		{"openai defaults", providers.Settings{Name: "a", Kind: openai.KindOpenAI}, ""},
		{"openai null options", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Options: json.RawMessage("null")}, ""},
		{"openai empty options", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Options: json.RawMessage(" {} ")}, ""},
		{"compatible without base_url", providers.Settings{Name: "vllm", Kind: openai.KindCompatible}, "base_url is required"},
		{"compatible ok", providers.Settings{Name: "ollama", Kind: openai.KindCompatible, BaseURL: "http://localhost:11434/v1/"}, ""},
		{"unknown option", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Options: json.RawMessage(`{"auth":"x"}`)}, `unknown field "auth"`},
		{"bad auth_header", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Options: json.RawMessage(`{"auth_header":"x-key"}`)}, "auth_header"},
		{"trailing options data", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Options: json.RawMessage(`{} {}`)}, "after the options"},
		{"wrong option type", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Options: json.RawMessage(`{"query":["a"]}`)}, "query"},
		{"bad scheme", providers.Settings{Name: "a", Kind: openai.KindCompatible, BaseURL: "ftp://host/v1"}, "scheme"},
		{"no host", providers.Settings{Name: "a", Kind: openai.KindCompatible, BaseURL: "http:///v1"}, "missing host"},
		{"userinfo", providers.Settings{Name: "a", Kind: openai.KindCompatible, BaseURL: "https://u:" + testKey + "@host/v1"}, "credentials in the URL"},
		{"bad header", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Headers: map[string]string{"X-A": "1\r\nX-B: 2"}}, "invalid header"},
		{"bad key", providers.Settings{Name: "a", Kind: openai.KindOpenAI, APIKey: testKey + "\n"}, "api key contains invalid characters"},
		{"negative timeout", providers.Settings{Name: "a", Kind: openai.KindOpenAI, Timeout: -1}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := providers.New(tt.s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if p.Name() != tt.s.Name {
					t.Errorf("Name() = %q, want %q", p.Name(), tt.s.Name)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.wantErr)
			}
			if p != nil {
				t.Errorf("New returned a provider (%v) with an error", p)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.s.Name) {
				t.Errorf("error %q does not name the provider", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %q", err)
			}
		})
	}
}

// capturedRequest is what a golden file holds: the request line, the
// headers that matter and the JSON body.
type capturedRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query,omitempty"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

var goldenHeaders = []string{"Accept", "Api-Key", "Authorization", "Content-Type", "X-Team"}

func TestRequestGolden(t *testing.T) {
	temp, topP, seed := 0.2, 0.9, int64(42)
	full := &providers.Request{
		Model: "gpt-4o-mini",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You are a career coach. Answer in <= 3 steps & cite \"sources\"."},
			{Role: providers.RoleUser, Content: "Plan my move from data analyst to data engineer.\nI know SQL — and some Python\t(pandas)."},
			{Role: providers.RoleAssistant, Content: "Which cloud do you use?"},
			{Role: providers.RoleUser, Content: "GCP ✓"},
		},
		MaxTokens:   256,
		Temperature: &temp,
		TopP:        &topP,
		Stop:        []string{"\n\nUser:", "END"},
		Seed:        &seed,
		User:        "u-7f3a9c",
	}
	tests := []struct {
		name   string
		kind   string
		path   string // base URL path
		key    string
		opts   string
		stream bool
		req    *providers.Request
	}{
		{name: "unary", kind: openai.KindOpenAI, path: "/v1", key: testKey, req: full},
		{name: "stream", kind: openai.KindOpenAI, path: "/v1/", key: testKey, stream: true,
			req: &providers.Request{Model: "gpt-4o-mini", Messages: []providers.Message{{Role: providers.RoleUser, Content: "Hi"}}, MaxTokens: 64}},
		{name: "azure", kind: openai.KindCompatible, path: "/openai/deployments/gpt-4o", key: testKey,
			opts: `{"auth_header": "api-key", "query": {"api-version": "2024-10-21"}}`,
			req:  &providers.Request{Model: "gpt-4o", Messages: []providers.Message{{Role: providers.RoleUser, Content: "Hi"}}, MaxTokens: 100, Temperature: new(float64)}},
		{name: "ollama_stream", kind: openai.KindCompatible, path: "/v1", stream: true,
			req: &providers.Request{Model: "llama3.2:3b", Messages: []providers.Message{{Role: providers.RoleUser, Content: "Hi"}}, MaxTokens: 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got capturedRequest
			)
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				c := capturedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: map[string]string{}, Body: body}
				for _, h := range goldenHeaders {
					if v := r.Header.Get(h); v != "" {
						c.Headers[h] = v
					}
				}
				mu.Lock()
				got = c
				mu.Unlock()
				if r.Header.Get("Accept") == "text/event-stream" {
					writeSSE(w, 200, testdata(t, "stream.sse"))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(testdata(t, "chat_completion.json"))
			}))
			s := providers.Settings{
				Name: tt.name, Kind: tt.kind, BaseURL: srv.URL + tt.path, APIKey: tt.key,
				Headers: map[string]string{"x-team": "careers"}, HTTPClient: srv.Client(),
			}
			if tt.opts != "" {
				s.Options = json.RawMessage(tt.opts)
			}
			p := build(t, s)
			ctx := ctxTimeout(t, 10*time.Second)
			if tt.stream {
				st, err := p.Stream(ctx, tt.req)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := collect(t, st); !errors.Is(err, io.EOF) {
					t.Fatalf("stream: %v", err)
				}
				_ = st.Close()
			} else if _, err := p.Complete(ctx, tt.req); err != nil {
				t.Fatal(err)
			}

			mu.Lock()
			defer mu.Unlock()
			if !compactJSON(got.Body) {
				t.Errorf("request body is not compact valid JSON: %s", got.Body)
			}
			// Not MarshalIndent: it would escape <, > and & that the
			// backend sends as they are.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			golden := filepath.Join("testdata", "request_"+tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("request differs from %s (run go test -update after checking):\ngot:\n%s\nwant:\n%s", golden, out, want)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	for _, kind := range []string{openai.KindOpenAI, openai.KindCompatible} {
		t.Run(kind, func(t *testing.T) {
			srv := newServer(t, jsonReply(t, 200, "chat_completion.json"))
			s := settings(srv)
			s.Kind = kind
			resp, err := build(t, s).Complete(ctxTimeout(t, 10*time.Second), userRequest("How do I become a data engineer?"))
			if err != nil {
				t.Fatal(err)
			}
			want := providers.Response{
				ID:           "chatcmpl-BX3ZqE0fPvG5kRl1yH7t2mWcJd9aN",
				Model:        "gpt-4o-mini-2024-07-18",
				Text:         "A data analyst can move into data engineering by learning SQL performance tuning, Python, and an orchestration tool such as Airflow.\n\n1. Build one end-to-end pipeline.\n2. Learn \"dbt\" for modelling.",
				FinishReason: providers.FinishStop,
				Usage:        providers.Usage{InputTokens: 1180, OutputTokens: 52, CachedInputTokens: 1024},
			}
			if *resp != want {
				t.Errorf("Complete =\n%+v\nwant\n%+v", *resp, want)
			}
		})
	}
}

func TestDirectConstructors(t *testing.T) {
	p, err := openai.New(providers.Settings{Name: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "direct" {
		t.Errorf("Name = %q", p.Name())
	}
	if _, err := openai.NewCompatible(providers.Settings{Name: "direct"}); err == nil || !strings.Contains(err.Error(), "base_url") {
		t.Errorf("NewCompatible without base URL: err = %v", err)
	}
}

func TestInvalidRequest(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent upstream")
	}))
	p := build(t, settings(srv))
	nan := 0.0
	nan /= nan
	bad := userRequest("x")
	bad.Temperature = &nan
	for _, req := range []*providers.Request{nil, bad, {Model: "m", MaxTokens: -1}} {
		_, err := p.Complete(context.Background(), req)
		wantKind(t, err, providers.KindBadRequest)
		_, err = p.Stream(context.Background(), req)
		wantKind(t, err, providers.KindBadRequest)
	}
}
