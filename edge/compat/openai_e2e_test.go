package compat_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge/compat"
	"github.com/careerpath/llmgateway/providers/sim"
)

func TestChatCompletionUnary(t *testing.T) {
	g := startGateway(t, nil)
	c := g.post(t, "/v1/chat/completions", `{"model": "openai_only", "temperature": 0.5, "max_tokens": 50,
		"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How do I become a data engineer?"}]}`)
	if c.status != http.StatusOK || c.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %s", c.status, c.header, c.body)
	}
	v := c.decode(t)
	if path(v, "object") != "chat.completion" || path(v, "id") == "" || path(v, "created").(float64) <= 0 {
		t.Fatalf("envelope: %s", c.body)
	}
	// model is the model that answered, not the route asked for.
	if path(v, "model") != "gpt-4o-mini" || path(v, "choices", 0, "index") != 0.0 ||
		path(v, "choices", 0, "message", "role") != "assistant" || path(v, "choices", 0, "finish_reason") != "stop" {
		t.Fatalf("choice: %s", c.body)
	}
	if text, _ := path(v, "choices", 0, "message", "content").(string); len(strings.Fields(text)) == 0 {
		t.Fatalf("no answer: %s", c.body)
	}
	in, out := path(v, "usage", "prompt_tokens").(float64), path(v, "usage", "completion_tokens").(float64)
	if in <= 0 || out <= 0 || path(v, "usage", "total_tokens") != in+out {
		t.Fatalf("usage: %s", c.body)
	}
	for k, want := range map[string]string{compat.HeaderRoute: "openai_only", compat.HeaderVariant: "gpt",
		compat.HeaderProvider: "openai", compat.HeaderModel: "gpt-4o-mini", compat.HeaderStep: "primary",
		compat.HeaderServedFrom: "fresh", compat.HeaderResponseID: path(v, "id").(string)} {
		if got := c.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// One request, one upstream call.
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 1 {
		t.Fatalf("simulator saw %d requests", n)
	}
}

func TestChatCompletionModelNames(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct{ model, provider, route string }{
		{"anthropic_only", "anthropic", "anthropic_only"},
		{"gpt-4o-mini", "openai", ""},
		{"claude-3-5-haiku-latest", "anthropic", ""},
		{"openai/gpt-4o-mini", "openai", ""},
	} {
		c := g.post(t, "/v1/chat/completions", `{"model": "`+tc.model+`", "messages": [{"role": "user", "content": "Hi"}]}`)
		if c.status != http.StatusOK || c.header.Get(compat.HeaderProvider) != tc.provider ||
			c.header.Get(compat.HeaderRoute) != tc.route {
			t.Errorf("%s: %d %v %s", tc.model, c.status, c.header, c.body)
		}
	}
	c := g.post(t, "/v1/chat/completions", `{"model": "gpt-9", "messages": [{"role": "user", "content": "Hi"}]}`)
	v := c.decode(t)
	if c.status != http.StatusNotFound || path(v, "error", "code") != "model_not_found" ||
		path(v, "error", "type") != "invalid_request_error" || path(v, "error", "param") != "model" {
		t.Fatalf("unknown model: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/chat/completions", `{"messages": [{"role": "user", "content": "Hi"}]}`)
	if v := c.decode(t); c.status != http.StatusBadRequest || path(v, "error", "param") != "model" {
		t.Fatalf("no model: %d %s", c.status, c.body)
	}
}

func TestChatCompletionStickySubject(t *testing.T) {
	g := startGateway(t, nil)
	variants := map[string]map[string]bool{}
	for _, user := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		variants[user] = map[string]bool{}
		for range 4 {
			c := g.post(t, "/v1/chat/completions", `{"model": "career_advice", "user": "`+user+`",
				"messages": [{"role": "user", "content": "Hi"}]}`)
			variants[user][c.header.Get(compat.HeaderVariant)] = true
		}
		if len(variants[user]) != 1 {
			t.Fatalf("user %s was answered by %v", user, variants[user])
		}
	}
}

// chunks checks an OpenAI stream chunk by chunk and returns the text, the
// final usage chunk (nil without one) and the finish reason.
func chunks(t *testing.T, c call, includeUsage bool) (text string, usage map[string]any, finish string) {
	t.Helper()
	evs := c.events(t)
	if len(evs) < 4 || evs[len(evs)-1].data != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]:\n%s", c.body)
	}
	var id string
	var b strings.Builder
	for i, e := range evs[:len(evs)-1] {
		if e.name != "" {
			t.Fatalf("event %d has a name: %q", i, e.name)
		}
		v := e.obj(t)
		if path(v, "object") != "chat.completion.chunk" || path(v, "created").(float64) <= 0 || path(v, "model") == "" {
			t.Fatalf("chunk %d: %s", i, e.data)
		}
		if i == 0 {
			id = path(v, "id").(string)
			if !strings.HasPrefix(id, "chatcmpl-") || path(v, "choices", 0, "delta", "role") != "assistant" ||
				path(v, "choices", 0, "delta", "content") != "" {
				t.Fatalf("first chunk: %s", e.data)
			}
		} else if path(v, "id") != id {
			t.Fatalf("chunk %d has id %v, want %s", i, path(v, "id"), id)
		}
		u, hasUsage := v["usage"]
		if hasUsage != includeUsage {
			t.Fatalf("chunk %d: usage key present %v, want %v: %s", i, hasUsage, includeUsage, e.data)
		}
		choices := path(v, "choices").([]any)
		if includeUsage && i == len(evs)-2 {
			if len(choices) != 0 || u == nil {
				t.Fatalf("usage chunk: %s", e.data)
			}
			usage = u.(map[string]any)
			continue
		}
		if u != nil || len(choices) != 1 {
			t.Fatalf("chunk %d: %s", i, e.data)
		}
		if fr, _ := path(v, "choices", 0, "finish_reason").(string); fr != "" {
			if finish != "" || len(path(v, "choices", 0, "delta").(map[string]any)) != 0 {
				t.Fatalf("finish chunk %d: %s", i, e.data)
			}
			finish = fr
			continue
		}
		if finish != "" {
			t.Fatalf("chunk %d after the finish reason: %s", i, e.data)
		}
		s, _ := path(v, "choices", 0, "delta", "content").(string)
		b.WriteString(s)
	}
	if finish == "" {
		t.Fatalf("no finish_reason:\n%s", c.body)
	}
	return b.String(), usage, finish
}

func TestChatCompletionStream(t *testing.T) {
	g := startGateway(t, nil)
	body := `{"model": "anthropic_only", "stream": true, "max_tokens": 6, "messages": [{"role": "user", "content": "Hi"}]}`
	c := g.post(t, "/v1/chat/completions", body)
	if c.status != http.StatusOK || !strings.HasPrefix(c.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %v %s", c.status, c.header, c.body)
	}
	text, usage, finish := chunks(t, c, false)
	if len(strings.Fields(text)) != 6 || usage != nil || finish != "length" {
		t.Fatalf("text %q usage %v finish %q", text, usage, finish)
	}
	// The account of the answer arrives as trailers.
	if c.trailer.Get(compat.HeaderRoute) != "anthropic_only" || c.trailer.Get(compat.HeaderProvider) != "anthropic" ||
		c.trailer.Get(compat.HeaderResponseID) == "" {
		t.Fatalf("trailers: %v", c.trailer)
	}

	c = g.post(t, "/v1/chat/completions", strings.Replace(body, `"stream": true`,
		`"stream": true, "stream_options": {"include_usage": true}`, 1))
	text, usage, _ = chunks(t, c, true)
	in, out := path(usage, "prompt_tokens").(float64), path(usage, "completion_tokens").(float64)
	if in <= 0 || out != 6 || path(usage, "total_tokens") != in+out || len(strings.Fields(text)) != 6 {
		t.Fatalf("usage %v text %q", usage, text)
	}
}

func TestChatCompletionErrors(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct {
		name, body    string
		status        int
		param, substr string
	}{
		{"bad JSON", `{"model": "openai_only", "messages": [`, 400, "", "not valid JSON"},
		{"wrong type", `{"model": "openai_only", "messages": {"role": "user"}}`, 400, "messages", "object"},
		{"image detail", `{"model": "openai_only", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"},
			{"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}}]}]}`, 400,
			"messages[0].content[1].image_url.detail", "detail"},
		{"audio part", `{"model": "openai_only", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}`,
			400, "messages[0].content[0].type", "input_audio"},
		{"hosted tool", `{"model": "openai_only", "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "web_search"}],
			"messages": [{"role": "user", "content": "Hi"}]}`, 400, "tools[1].type", "web_search"},
		{"functions", `{"model": "openai_only", "functions": [{"name": "f"}], "messages": [{"role": "user", "content": "Hi"}]}`,
			400, "functions", "functions"},
		{"tool choice", `{"model": "openai_only", "tool_choice": {"type": "custom", "custom": {"name": "f"}},
			"tools": [{"type": "function", "function": {"name": "f"}}], "messages": [{"role": "user", "content": "Hi"}]}`,
			400, "tool_choice.type", "custom"},
		{"function message", `{"model": "openai_only", "messages": [{"role": "function", "name": "f", "content": "42"}]}`,
			400, "messages[0].role", "function"},
		{"tool message without id", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "42"}]}`,
			400, "messages[1].tool_call_id", "tool_call_id"},
		{"unpaired tool result", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "42", "tool_call_id": "x"}]}`,
			400, "messages[1].parts[0].tool_result.tool_call_id", "no earlier assistant message"},
		{"response format", `{"model": "openai_only", "response_format": {"type": "grammar"}, "messages": [{"role": "user", "content": "Hi"}]}`,
			400, "response_format.type", "grammar"},
		{"schema without name", `{"model": "openai_only", "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
			"messages": [{"role": "user", "content": "Hi"}]}`, 400, "response_format.json_schema.name", "name"},
		{"reasoning effort", `{"model": "openai_only", "reasoning_effort": "extreme", "messages": [{"role": "user", "content": "Hi"}]}`,
			400, "reasoning_effort", "extreme"},
		{"n", `{"model": "openai_only", "n": 2, "messages": [{"role": "user", "content": "Hi"}]}`, 400, "n", "n must be 1"},
		{"validation", `{"model": "openai_only", "temperature": 3, "messages": [{"role": "user", "content": "Hi"}]}`,
			400, "params.temperature", "temperature"},
		{"no user message", `{"model": "openai_only", "messages": [{"role": "system", "content": "Hi"}]}`,
			400, "messages", "ROLE_USER"},
	} {
		c := g.post(t, "/v1/chat/completions", tc.body)
		v := c.decode(t)
		msg, _ := path(v, "error", "message").(string)
		param, _ := path(v, "error", "param").(string)
		if c.status != tc.status || path(v, "error", "type") != "invalid_request_error" || param != tc.param ||
			!strings.Contains(msg, tc.substr) {
			t.Errorf("%s: %d %s", tc.name, c.status, c.body)
		}
	}
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != 0 {
		t.Fatalf("refused requests reached the provider: %d", n)
	}
	c := g.do(t, http.MethodGet, "/v1/chat/completions", "")
	if c.status != http.StatusMethodNotAllowed || c.header.Get("Allow") != "POST" {
		t.Fatalf("GET: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "`+
		strings.Repeat("x", 70<<10)+`"}]}`)
	if c.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %d %s", c.status, c.body)
	}
	// The REST shim still answers beside the compatible API.
	c = g.post(t, "/v1/complete", `{"route": "openai_only", "messages": [{"role": "ROLE_USER", "content": "Hi"}]}`)
	if c.status != http.StatusOK {
		t.Fatalf("REST shim: %d %s", c.status, c.body)
	}
}

func TestChatCompletionUpstreamFailures(t *testing.T) {
	g := startGateway(t, nil)
	// The only provider fails, there is no backup nor degraded answer.
	if err := g.openai.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	c := g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`)
	v := c.decode(t)
	if c.status != http.StatusServiceUnavailable || path(v, "error", "type") != "server_error" ||
		path(v, "error", "code") != "upstream_server_error" || strings.Contains(string(c.body), "sk-test") {
		t.Fatalf("unary: %d %s", c.status, c.body)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "openai_only", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`)
	if c.status != http.StatusServiceUnavailable {
		t.Fatalf("stream that never started: %d %s", c.status, c.body)
	}

	// A stream cut off after it started ends with an error event, no [DONE].
	if err := g.openai.SetFault(sim.Fault{DisconnectAfterTokens: 3}); err != nil {
		t.Fatal(err)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "openai_only", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}`)
	evs := c.events(t)
	last := evs[len(evs)-1].obj(t)
	if c.status != http.StatusOK || len(evs) < 3 || path(last, "error", "type") != "server_error" ||
		strings.Contains(string(c.body), "[DONE]") {
		t.Fatalf("cut stream: %d %s", c.status, c.body)
	}
	for _, e := range evs[:len(evs)-1] {
		if path(e.obj(t), "object") != "chat.completion.chunk" {
			t.Fatalf("before the error: %s", e.data)
		}
	}

	// A provider out of credit is OpenAI's insufficient_quota.
	if err := g.openai.SetFault(sim.Fault{InsufficientQuota: true}); err != nil {
		t.Fatal(err)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`)
	if v := c.decode(t); c.status != http.StatusTooManyRequests || path(v, "error", "type") != "insufficient_quota" ||
		path(v, "error", "code") != "insufficient_quota" {
		t.Fatalf("upstream insufficient_quota: %d %s", c.status, c.body)
	}

	// Upstream rate limiting reaches the caller as 429 with Retry-After,
	// and so does the cooldown that follows it, without calling the
	// provider again.
	if err := g.openai.SetFault(sim.Fault{Status: 429, RetryAfter: "7"}); err != nil {
		t.Fatal(err)
	}
	c = g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`)
	if v := c.decode(t); c.status != http.StatusTooManyRequests || c.header.Get("Retry-After") != "7" ||
		path(v, "error", "code") != "rate_limit_exceeded" {
		t.Fatalf("upstream 429: %d %v %s", c.status, c.header, c.body)
	}
	before := g.openai.Stats().Requests[sim.PathChatCompletions]
	c = g.post(t, "/v1/chat/completions", `{"model": "openai_only", "messages": [{"role": "user", "content": "Hi"}]}`)
	if v := c.decode(t); c.status != http.StatusTooManyRequests || c.header.Get("Retry-After") == "" ||
		path(v, "error", "code") != "rate_limit_exceeded" {
		t.Fatalf("cooled down: %d %v %s", c.status, c.header, c.body)
	}
	if n := g.openai.Stats().Requests[sim.PathChatCompletions]; n != before {
		t.Fatalf("a cooled-down provider was called again")
	}
}

func TestModelsList(t *testing.T) {
	g := startGateway(t, map[string]string{config.ClientsFile: clientsJSON})
	c := g.do(t, http.MethodGet, "/v1/models", "")
	if v := c.decode(t); c.status != http.StatusUnauthorized || path(v, "error", "code") != "missing_api_key" {
		t.Fatalf("no key: %d %s", c.status, c.body)
	}
	c = g.do(t, http.MethodGet, "/v1/models", "", "Authorization", "Bearer "+appKey)
	if c.status != http.StatusOK || string(c.body) != `{"object":"list","data":[`+
		`{"id":"career_advice","object":"model","created":0,"owned_by":"llmgateway"},`+
		`{"id":"openai_only","object":"model","created":0,"owned_by":"llmgateway"}]}` {
		t.Fatalf("restricted client: %d %s", c.status, c.body)
	}
	c = g.do(t, http.MethodGet, "/v1/models", "", "x-api-key", opsKey, "anthropic-version", "2023-06-01")
	v := c.decode(t)
	data, _ := v["data"].([]any)
	if c.status != http.StatusOK || len(data) != 5 || path(v, "first_id") != "anthropic_only" ||
		path(v, "last_id") != "claude-3-5-haiku-latest" || path(v, "data", 3, "type") != "model" {
		t.Fatalf("ops client, Anthropic shape: %d %s", c.status, c.body)
	}
	c = g.do(t, http.MethodGet, "/v1/models/gpt-4o-mini", "", "Authorization", "Bearer "+opsKey)
	if c.status != http.StatusOK || string(c.body) != `{"id":"gpt-4o-mini","object":"model","created":0,"owned_by":"openai"}` {
		t.Fatalf("one model: %d %s", c.status, c.body)
	}
	c = g.do(t, http.MethodGet, "/v1/models/gpt-4o-mini", "", "Authorization", "Bearer "+appKey)
	if c.status != http.StatusNotFound {
		t.Fatalf("a model the client may not use: %d %s", c.status, c.body)
	}
}
