package resilience_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
)

// chatServer is an OpenAI chat completions endpoint answering each call
// with the next of its answers (the last one again once they run out),
// as a chat.completion or, for stream requests, as chat.completion.chunk
// events.
type chatServer struct {
	mu      sync.Mutex
	answers []string
	calls   int
}

func (s *chatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Stream bool `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	answer := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	s.mu.Unlock()
	content, _ := json.Marshal(answer)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}`, content)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	half, _ := json.Marshal(answer[:len(answer)/2])
	rest, _ := json.Marshal(answer[len(answer)/2:])
	head := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",`
	for _, d := range [][]byte{half, rest} {
		_, _ = fmt.Fprintf(w, "data: %s\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}]}\n\n", head, d)
	}
	_, _ = fmt.Fprintf(w, "data: %s\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", head)
	_, _ = fmt.Fprintf(w, "data: %s\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":9,\"total_tokens\":14}}\n\n", head)
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
}

func (s *chatServer) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// newHTTPSchemaChain is a chain of two real OpenAI backends, each over
// HTTP to its own chat server.
func newHTTPSchemaChain(t *testing.T, policy string, primary, backup *chatServer) *resilience.Chain {
	t.Helper()
	retry := &config.Retry{MaxAttempts: 2, InitialBackoff: config.Duration(time.Millisecond), MaxBackoff: config.Duration(time.Millisecond)}
	cfg := &config.Config{Providers: config.ProviderSettings{Providers: map[string]config.Provider{}}}
	provs := map[string]providers.Provider{}
	for name, srv := range map[string]*chatServer{"primary": primary, "backup": backup} {
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		pc := config.Provider{Kind: "openai", BaseURL: hs.URL + "/v1", Retry: retry}
		cfg.Providers.Providers[name] = pc
		p, err := providers.New(providers.Settings{Name: name, Kind: pc.Kind, BaseURL: pc.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		provs[name] = p
	}
	set, err := resilience.NewSet(cfg, provs, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := set.Chain("plan", resilience.Target{Provider: "primary", Model: "gpt-4o-mini"},
		[]resilience.Target{{Provider: "backup", Model: "gpt-4o-mini"}}, "", resilience.WithSchemaMismatch(policy))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSchemaGateOverHTTP runs the policies over real OpenAI backends: the
// primary answers off the schema, the backup on it.
func TestSchemaGateOverHTTP(t *testing.T) {
	cases := []struct {
		policy              string
		wantText            string
		wantCheck           resilience.SchemaCheck
		wantPrimary, wantBk int
	}{
		{config.OnSchemaMismatchRetry, goodJSON, resilience.SchemaChecked, 2, 1},
		{config.OnSchemaMismatchFailOver, goodJSON, resilience.SchemaChecked, 1, 1},
		{config.OnSchemaMismatchPass, badJSON, resilience.SchemaUnchecked, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			primary, backup := &chatServer{answers: []string{badJSON}}, &chatServer{answers: []string{goodJSON}}
			c := newHTTPSchemaChain(t, tc.policy, primary, backup)
			ans, err := c.Complete(ctx(t), schemaReq())
			if err != nil {
				t.Fatal(err)
			}
			if ans.Response.Text != tc.wantText || ans.SchemaCheck() != tc.wantCheck {
				t.Fatalf("answer %q, check %v", ans.Response.Text, ans.SchemaCheck())
			}
			if primary.Calls() != tc.wantPrimary || backup.Calls() != tc.wantBk {
				t.Fatalf("calls %d/%d, want %d/%d", primary.Calls(), backup.Calls(), tc.wantPrimary, tc.wantBk)
			}

			// Streamed, the mismatch is known only after tokens went out.
			primary, backup = &chatServer{answers: []string{badJSON}}, &chatServer{answers: []string{goodJSON}}
			c = newHTTPSchemaChain(t, tc.policy, primary, backup)
			ans, err = c.Stream(ctx(t), schemaReq())
			if err != nil {
				t.Fatal(err)
			}
			text, err := readAll(ans.Stream)
			pass := tc.policy == config.OnSchemaMismatchPass
			if text != badJSON || (err == nil) != pass || ans.SchemaCheck() != resilience.SchemaUnchecked {
				t.Fatalf("stream %q ended with %v, check %v", text, err, ans.SchemaCheck())
			}
			if !pass && providers.KindOf(err) != providers.KindSchemaMismatch {
				t.Fatalf("stream ended with %v, want schema_mismatch", err)
			}
		})
	}
}
