package compat_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge/compat"
	"github.com/careerpath/llmgateway/providers/sim"
)

const (
	appKey = "llmgw_app-test-key-0123456789abc"
	opsKey = "llmgw_ops-test-key-0123456789abc"
)

var clientsJSON = `{"clients": [
  {"name": "app", "key_sha256": "` + config.HashKey(appKey) + `", "routes": ["career_advice", "openai_only"]},
  {"name": "ops", "key_sha256": "` + config.HashKey(opsKey) + `", "routes": ["*"], "allow_model_override": true}
]}`

func TestMessagesUnary(t *testing.T) {
	g := startGateway(t, nil)
	c := g.post(t, "/v1/messages", `{"model": "openai_only", "max_tokens": 5, "system": [{"type": "text", "text": "Be brief."}],
		"metadata": {"user_id": "u1"}, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}`,
		"anthropic-version", "2023-06-01")
	if c.status != http.StatusOK {
		t.Fatalf("%d %s", c.status, c.body)
	}
	v := c.decode(t)
	if path(v, "type") != "message" || path(v, "role") != "assistant" || path(v, "id") != c.header.Get(compat.HeaderResponseID) ||
		path(v, "model") != "gpt-4o-mini" || path(v, "stop_reason") != "max_tokens" || path(v, "content", 0, "type") != "text" {
		t.Fatalf("message: %s", c.body)
	}
	if text, _ := path(v, "content", 0, "text").(string); len(strings.Fields(text)) != 5 {
		t.Fatalf("text: %s", c.body)
	}
	if path(v, "usage", "output_tokens") != 5.0 || path(v, "usage", "input_tokens").(float64) <= 0 {
		t.Fatalf("usage: %s", c.body)
	}
}

func TestMessagesStream(t *testing.T) {
	g := startGateway(t, nil)
	c := g.post(t, "/v1/messages", `{"model": "claude-3-5-haiku-latest", "max_tokens": 4, "stream": true, "system": "Be brief.",
		"messages": [{"role": "user", "content": "Hi"}]}`)
	if c.status != http.StatusOK || !strings.HasPrefix(c.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %v %s", c.status, c.header, c.body)
	}
	evs := c.events(t)
	var names []string
	var text strings.Builder
	for _, e := range evs {
		v := e.obj(t)
		if path(v, "type") != e.name {
			t.Fatalf("event %s carries type %v", e.name, path(v, "type"))
		}
		names = append(names, e.name)
		switch e.name {
		case "message_start":
			if path(v, "message", "role") != "assistant" || !strings.HasPrefix(path(v, "message", "id").(string), "msg_") ||
				path(v, "message", "model") != "claude-3-5-haiku-latest" {
				t.Fatalf("message_start: %s", e.data)
			}
		case "content_block_delta":
			if path(v, "index") != 0.0 || path(v, "delta", "type") != "text_delta" {
				t.Fatalf("delta: %s", e.data)
			}
			text.WriteString(path(v, "delta", "text").(string))
		case "message_delta":
			if path(v, "delta", "stop_reason") != "max_tokens" || path(v, "usage", "output_tokens") != 4.0 ||
				path(v, "usage", "input_tokens").(float64) <= 0 {
				t.Fatalf("message_delta: %s", e.data)
			}
		}
	}
	want := "message_start content_block_start ping " + strings.Repeat("content_block_delta ", 4) +
		"content_block_stop message_delta message_stop"
	if strings.Join(names, " ") != want || len(strings.Fields(text.String())) != 4 {
		t.Fatalf("events %v, text %q", names, text.String())
	}
	if c.trailer.Get(compat.HeaderProvider) != "anthropic" || c.trailer.Get(compat.HeaderModel) != "claude-3-5-haiku-latest" {
		t.Fatalf("trailers: %v", c.trailer)
	}
}

func TestMessagesErrors(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct {
		name, body, errType string
		status              int
	}{
		{"bad JSON", `{"model": `, "invalid_request_error", 400},
		{"server tool", `{"model": "openai_only", "tools": [{"type": "bash_20250124", "name": "bash"}], "messages": [{"role": "user", "content": "Hi"}]}`,
			"invalid_request_error", 400},
		{"system role", `{"model": "openai_only", "messages": [{"role": "system", "content": "Hi"}]}`, "invalid_request_error", 400},
		{"empty message", `{"model": "openai_only", "system": "s", "messages": [{"role": "user", "content": ""}]}`,
			"invalid_request_error", 400},
		{"unknown model", `{"model": "claude-9", "messages": [{"role": "user", "content": "Hi"}]}`, "not_found_error", 404},
	} {
		c := g.post(t, "/v1/messages", tc.body)
		v := c.decode(t)
		if c.status != tc.status || path(v, "type") != "error" || path(v, "error", "type") != tc.errType ||
			path(v, "error", "message") == "" {
			t.Errorf("%s: %d %s", tc.name, c.status, c.body)
		}
	}
	// A stream cut off after it started ends with an error event.
	if err := g.anthropic.SetFault(sim.Fault{DisconnectAfterTokens: 2}); err != nil {
		t.Fatal(err)
	}
	c := g.post(t, "/v1/messages", `{"model": "anthropic_only", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`)
	evs := c.events(t)
	last := evs[len(evs)-1]
	if c.status != http.StatusOK || last.name != "error" || path(last.obj(t), "error", "type") != "overloaded_error" ||
		evs[0].name != "message_start" || strings.Contains(string(c.body), "message_stop") {
		t.Fatalf("cut stream: %d %s", c.status, c.body)
	}
}

func TestAuthHeaders(t *testing.T) {
	g := startGateway(t, map[string]string{config.ClientsFile: clientsJSON})
	chat := `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`
	for _, tc := range []struct {
		name, path string
		header     []string
		status     int
		errType    string
	}{
		{"OpenAI bearer", "/v1/chat/completions", []string{"Authorization", "Bearer " + appKey}, 200, ""},
		{"OpenAI x-api-key", "/v1/chat/completions", []string{"X-Api-Key", appKey}, 200, ""},
		{"Anthropic x-api-key", "/v1/messages", []string{"x-api-key", appKey, "anthropic-version", "2023-06-01"}, 200, ""},
		{"Anthropic bearer", "/v1/messages", []string{"Authorization", "Bearer " + appKey, "anthropic-version", "2099-01-01"}, 200, ""},
		{"OpenAI no key", "/v1/chat/completions", nil, 401, "invalid_request_error"},
		{"OpenAI wrong key", "/v1/chat/completions", []string{"Authorization", "Bearer llmgw_wrong"}, 401, "invalid_request_error"},
		{"Anthropic wrong key", "/v1/messages", []string{"x-api-key", "llmgw_wrong"}, 401, "authentication_error"},
		{"Anthropic two keys", "/v1/messages", []string{"x-api-key", appKey, "Authorization", "Bearer " + opsKey}, 401, "authentication_error"},
	} {
		c := g.post(t, tc.path, chat, tc.header...)
		if c.status != tc.status || strings.Contains(string(c.body), "llmgw_") {
			t.Errorf("%s: %d %s", tc.name, c.status, c.body)
			continue
		}
		if tc.errType == "" {
			continue
		}
		v := c.decode(t)
		got := path(v, "error", "type")
		if got != tc.errType {
			t.Errorf("%s: error type %v: %s", tc.name, got, c.body)
		}
	}
	// Authorisation is the gRPC API's: a route the client may not use, a
	// model override it may not make.
	c := g.post(t, "/v1/messages", `{"model": "anthropic_only", "messages": [{"role": "user", "content": "Hi"}]}`, "x-api-key", appKey)
	if v := c.decode(t); c.status != http.StatusForbidden || path(v, "error", "type") != "permission_error" {
		t.Fatalf("route not allowed: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}`,
		"Authorization", "Bearer "+appKey)
	if v := c.decode(t); c.status != http.StatusForbidden || path(v, "error", "code") != "model_override_not_allowed" {
		t.Fatalf("override not allowed: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}`,
		"Authorization", "Bearer "+opsKey)
	if c.status != http.StatusOK {
		t.Fatalf("override allowed: %d %s", c.status, c.body)
	}
	// An unknown model is only reported to a caller with a valid key.
	c = g.post(t, "/v1/chat/completions", `{"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}`)
	if c.status != http.StatusUnauthorized {
		t.Fatalf("unknown model without a key: %d %s", c.status, c.body)
	}
}

func TestRateLimit(t *testing.T) {
	g := startGateway(t, map[string]string{config.RateLimitsFile: `{"limits": [
		{"name": "tiny", "scope": ["route"], "routes": ["openai_only"], "requests_per_minute": 1},
		{"name": "budget", "scope": ["route"], "routes": ["anthropic_only"], "usd_per_day": 0.000001}]}`})
	chat := `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`
	c := g.post(t, "/v1/chat/completions", chat)
	if c.status != http.StatusOK || c.header.Get("X-Ratelimit-Remaining-Requests") != "0" {
		t.Fatalf("first: %d %v %s", c.status, c.header, c.body)
	}
	c = g.post(t, "/v1/chat/completions", chat)
	v := c.decode(t)
	secs, err := strconv.Atoi(c.header.Get("Retry-After"))
	if c.status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 ||
		path(v, "error", "type") != "requests" || path(v, "error", "code") != "rate_limit_exceeded" ||
		c.header.Get("X-Ratelimit-Limit") != "1" {
		t.Fatalf("OpenAI 429: %d %v %s", c.status, c.header, c.body)
	}
	c = g.post(t, "/v1/messages", chat)
	if v := c.decode(t); c.status != http.StatusTooManyRequests || c.header.Get("Retry-After") == "" ||
		path(v, "error", "type") != "rate_limit_error" {
		t.Fatalf("Anthropic 429: %d %v %s", c.status, c.header, c.body)
	}
	c = g.post(t, "/v1/messages", `{"model": "openai_only", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`)
	if c.status != http.StatusTooManyRequests || c.header.Get("Retry-After") == "" {
		t.Fatalf("stream 429: %d %v %s", c.status, c.header, c.body)
	}
	// A spent budget is OpenAI's insufficient_quota.
	for range 3 {
		c = g.post(t, "/v1/chat/completions", `{"model": "anthropic_only", "messages": [{"role": "user", "content": "Hi"}]}`)
	}
	if v := c.decode(t); c.status != http.StatusTooManyRequests || path(v, "error", "type") != "insufficient_quota" {
		t.Fatalf("budget: %d %s", c.status, c.body)
	}
}
