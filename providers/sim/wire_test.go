package sim_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers/sim"
)

const (
	chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},` +
		`{"role":"user","content":"Hello there"}],"temperature":0.7}`
	chatStreamBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}],` +
		`"max_tokens":6,"stream":true,"stream_options":{"include_usage":true}}`
	messagesBody = `{"model":"claude-3-5-haiku-latest","max_tokens":256,"system":"You are terse.",` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"Hello there"}]}]}`
	messagesStreamBody = `{"model":"claude-3-5-haiku-latest","max_tokens":5,"stream":true,` +
		`"messages":[{"role":"user","content":"Hello there"}]}`
)

func TestOpenAIUnary(t *testing.T) {
	e := start(t, sim.Config{})
	resp, body := e.post(sim.PathChatCompletions, chatBody)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var c oaCompletion
	mustJSON(t, string(body), &c)
	want := sim.Text("gpt-4o-mini", "Hello there", 0, 0)
	switch {
	case !strings.HasPrefix(c.ID, "chatcmpl-"):
		t.Errorf("id = %q", c.ID)
	case c.Object != "chat.completion":
		t.Errorf("object = %q", c.Object)
	case c.Created == 0:
		t.Errorf("created not set")
	case c.Model != "gpt-4o-mini":
		t.Errorf("model = %q", c.Model)
	case len(c.Choices) != 1:
		t.Fatalf("choices = %d", len(c.Choices))
	case c.Choices[0].Message.Role != "assistant":
		t.Errorf("role = %q", c.Choices[0].Message.Role)
	case c.Choices[0].Message.Content != want:
		t.Errorf("content = %q, want %q", c.Choices[0].Message.Content, want)
	case c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != "stop":
		t.Errorf("finish_reason = %v", c.Choices[0].FinishReason)
	case c.Usage == nil:
		t.Fatalf("no usage")
	}
	// Two messages of 14 and 11 bytes: (25+3)/4 + 2*4 = 15.
	u := c.Usage
	if u.PromptTokens != 15 || u.CompletionTokens != sim.DefaultAnswerTokens || u.TotalTokens != 15+sim.DefaultAnswerTokens {
		t.Errorf("usage = %+v", *u)
	}
	if u.PromptTokensDetails == nil || u.PromptTokensDetails.CachedTokens == nil || *u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("prompt_tokens_details = %+v", u.PromptTokensDetails)
	}
	if n := len(strings.Fields(want)); n != sim.DefaultAnswerTokens {
		t.Errorf("answer has %d words, want %d", n, sim.DefaultAnswerTokens)
	}
}

func TestOpenAIMaxTokens(t *testing.T) {
	e := start(t, sim.Config{AnswerTokens: 10})
	full := sim.Text("gpt-4o", "Hi", 10, 0)
	for _, tc := range []struct {
		name, body string
		words      int
		finish     string
	}{
		{"max_tokens cuts", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}`, 4, "length"},
		{"max_completion_tokens cuts", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":3,"max_tokens":9}`, 3, "length"},
		{"max_tokens above answer", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"max_tokens":400}`, 10, "stop"},
		{"max_tokens equal", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"max_tokens":10}`, 10, "stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.post(sim.PathChatCompletions, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var c oaCompletion
			mustJSON(t, string(body), &c)
			got := c.Choices[0].Message.Content
			if n := len(strings.Fields(got)); n != tc.words || c.Usage.CompletionTokens != tc.words {
				t.Errorf("%q: %d words, completion_tokens %d, want %d", got, n, c.Usage.CompletionTokens, tc.words)
			}
			if *c.Choices[0].FinishReason != tc.finish {
				t.Errorf("finish_reason = %q, want %q", *c.Choices[0].FinishReason, tc.finish)
			}
			if !strings.HasPrefix(full, strings.TrimSuffix(got, ".")) {
				t.Errorf("%q is not a prefix of the full answer %q", got, full)
			}
		})
	}
}

func TestOpenAIStream(t *testing.T) {
	e := start(t, sim.Config{})
	for _, includeUsage := range []bool{true, false} {
		body := chatStreamBody
		if !includeUsage {
			body = strings.Replace(body, `"include_usage":true`, `"include_usage":false`, 1)
		}
		resp, events, err := e.postStream(sim.PathChatCompletions, body)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("stream ended with %v, want a clean EOF", err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("Content-Type = %q", ct)
		}
		if len(events) < 4 || events[len(events)-1].data != "[DONE]" {
			t.Fatalf("events = %+v, want … data: [DONE]", events)
		}
		var (
			text  strings.Builder
			id    string
			usage *oaUsage
		)
		finishAt := -1
		for i, ev := range events[:len(events)-1] {
			if ev.name != "" {
				t.Errorf("event %d has name %q; OpenAI sends data-only events", i, ev.name)
			}
			var c oaCompletion
			mustJSON(t, ev.data, &c)
			if c.Object != "chat.completion.chunk" || c.Model != "gpt-4o-mini" {
				t.Errorf("chunk %d: object %q model %q", i, c.Object, c.Model)
			}
			if id == "" {
				id = c.ID
			} else if c.ID != id {
				t.Errorf("chunk %d id %q, want %q", i, c.ID, id)
			}
			hasUsageKey := strings.Contains(ev.data, `"usage":`)
			if hasUsageKey != includeUsage {
				t.Errorf("chunk %d: usage key present = %v with include_usage %v", i, hasUsageKey, includeUsage)
			}
			switch {
			case i == 0:
				d := c.Choices[0].Delta
				if d == nil || d.Role == nil || *d.Role != "assistant" || d.Content == nil || *d.Content != "" {
					t.Errorf("first chunk = %s", ev.data)
				}
			case len(c.Choices) == 0:
				if i != len(events)-2 || c.Usage == nil {
					t.Errorf("usage chunk %d misplaced or empty: %s", i, ev.data)
				}
				usage = c.Usage
			case c.Choices[0].FinishReason != nil:
				finishAt = i
				if *c.Choices[0].FinishReason != "length" || c.Choices[0].Delta.Content != nil {
					t.Errorf("finish chunk = %s", ev.data)
				}
			default:
				if finishAt >= 0 {
					t.Errorf("content chunk %d after the finish chunk", i)
				}
				text.WriteString(*c.Choices[0].Delta.Content)
			}
		}
		if want := sim.Text("gpt-4o-mini", "Hello there", 0, 6); text.String() != want {
			t.Errorf("streamed text %q, want %q", text.String(), want)
		}
		if finishAt < 0 {
			t.Errorf("no finish chunk")
		}
		if includeUsage && (usage == nil || usage.CompletionTokens != 6 || usage.PromptTokens != 7 || usage.TotalTokens != 13) {
			t.Errorf("usage = %+v", usage)
		}
		if !includeUsage && usage != nil {
			t.Errorf("usage chunk without include_usage")
		}
	}
}

func TestAnthropicUnary(t *testing.T) {
	e := start(t, sim.Config{})
	resp, body := e.post(sim.PathMessages, messagesBody, "x-api-key: anything", "anthropic-version: 2023-06-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var m anMessage
	mustJSON(t, string(body), &m)
	want := sim.Text("claude-3-5-haiku-latest", "Hello there", 0, 0)
	switch {
	case !strings.HasPrefix(m.ID, "msg_"):
		t.Errorf("id = %q", m.ID)
	case m.Type != "message" || m.Role != "assistant" || m.Model != "claude-3-5-haiku-latest":
		t.Errorf("type %q role %q model %q", m.Type, m.Role, m.Model)
	case len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != want:
		t.Errorf("content = %+v, want text %q", m.Content, want)
	case m.StopReason == nil || *m.StopReason != "end_turn":
		t.Errorf("stop_reason = %v", m.StopReason)
	}
	// System (14 bytes) counts as a message: (14+11+3)/4 + 2*4 = 15.
	u := m.Usage
	if u.InputTokens == nil || *u.InputTokens != 15 || u.OutputTokens != 24 ||
		u.CacheCreationInputTokens == nil || *u.CacheCreationInputTokens != 0 ||
		u.CacheReadInputTokens == nil || *u.CacheReadInputTokens != 0 {
		t.Errorf("usage = %s", body)
	}

	resp, body = e.post(sim.PathMessages, `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"Hello there"}]}`)
	mustJSON(t, string(body), &m)
	if resp.StatusCode != http.StatusOK || *m.StopReason != "max_tokens" || m.Usage.OutputTokens != 2 {
		t.Errorf("max_tokens 2: %d %s", resp.StatusCode, body)
	}
}

func TestAnthropicStream(t *testing.T) {
	e := start(t, sim.Config{})
	resp, events, err := e.postStream(sim.PathMessages, messagesStreamBody)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want a clean EOF", err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type = %q", ct)
	}
	var names []string
	var text strings.Builder
	for _, ev := range events {
		names = append(names, ev.name)
		var a anEvent
		mustJSON(t, ev.data, &a)
		if a.Type != ev.name {
			t.Errorf("event %q carries type %q", ev.name, a.Type)
		}
		switch ev.name {
		case "message_start":
			m := a.Message
			if m == nil || !strings.HasPrefix(m.ID, "msg_") || m.Role != "assistant" || m.Model != "claude-3-5-haiku-latest" ||
				len(m.Content) != 0 || m.StopReason != nil || m.Usage.InputTokens == nil || *m.Usage.InputTokens != 7 {
				t.Errorf("message_start = %s", ev.data)
			}
		case "content_block_start":
			if a.Index == nil || *a.Index != 0 || a.ContentBlock == nil || a.ContentBlock.Type != "text" {
				t.Errorf("content_block_start = %s", ev.data)
			}
		case "content_block_delta":
			if a.Delta == nil || a.Delta.Type != "text_delta" {
				t.Errorf("content_block_delta = %s", ev.data)
			}
			text.WriteString(a.Delta.Text)
		case "message_delta":
			if a.Delta == nil || a.Delta.StopReason == nil || *a.Delta.StopReason != "max_tokens" || a.Usage == nil || a.Usage.OutputTokens != 5 {
				t.Errorf("message_delta = %s", ev.data)
			}
		}
	}
	want := []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("events\n got %v\nwant %v", names, want)
	}
	if w := sim.Text("claude-3-5-haiku-latest", "Hello there", 0, 5); text.String() != w {
		t.Errorf("streamed text %q, want %q", text.String(), w)
	}
}

func TestDeterministicAnswers(t *testing.T) {
	e := start(t, sim.Config{})
	answer := func(body string) string {
		t.Helper()
		resp, b := e.post(sim.PathChatCompletions, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var c oaCompletion
		mustJSON(t, string(b), &c)
		return c.Choices[0].Message.Content
	}
	base := answer(`{"model":"gpt-4o","messages":[{"role":"user","content":"Plan my week"}]}`)
	if again := answer(`{"model":"gpt-4o","messages":[{"role":"user","content":"Plan my week"}]}`); again != base {
		t.Errorf("same request, different answers:\n%q\n%q", base, again)
	}
	if hot := answer(`{"model":"gpt-4o","temperature":1.9,"top_p":0.1,"seed":7,"messages":[{"role":"user","content":"Plan my week"}]}`); hot != base {
		t.Errorf("sampling parameters changed the answer:\n%q\n%q", base, hot)
	}
	if other := answer(`{"model":"gpt-4o","messages":[{"role":"user","content":"Plan my month"}]}`); other == base {
		t.Errorf("different question, same answer %q", base)
	}
	if other := answer(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Plan my week"}]}`); other == base {
		t.Errorf("different model, same answer %q", base)
	}
	// The same question through the Anthropic format gets the same text.
	_, b := e.post(sim.PathMessages, `{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"Plan my week"}]}`)
	var m anMessage
	mustJSON(t, string(b), &m)
	if m.Content[0].Text != base {
		t.Errorf("Anthropic format answered %q, OpenAI %q", m.Content[0].Text, base)
	}
}

func TestBadRequests(t *testing.T) {
	e := start(t, sim.Config{})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		anthropic                bool
		contains                 string
	}{
		{"openai bad json", "POST", sim.PathChatCompletions, `{"model":`, 400, false, "could not parse the JSON body"},
		{"openai no model", "POST", sim.PathChatCompletions, `{"messages":[{"role":"user","content":"x"}]}`, 400, false, "model parameter"},
		{"openai no messages", "POST", sim.PathChatCompletions, `{"model":"m"}`, 400, false, "'messages'"},
		{"openai empty messages", "POST", sim.PathChatCompletions, `{"model":"m","messages":[]}`, 400, false, "empty array"},
		{"openai wrong type", "POST", sim.PathChatCompletions, `{"model":"m","messages":"hi"}`, 400, false, "messages"},
		{"openai zero max_tokens", "POST", sim.PathChatCompletions, `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, 400, false, "max_tokens"},
		{"openai GET", "GET", sim.PathChatCompletions, ``, 405, false, "Method Not Allowed"},
		{"anthropic bad json", "POST", sim.PathMessages, `nope`, 400, true, "invalid JSON"},
		{"anthropic no max_tokens", "POST", sim.PathMessages, `{"model":"m","messages":[{"role":"user","content":"x"}]}`, 400, true, "max_tokens: Field required"},
		{"anthropic no model", "POST", sim.PathMessages, `{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, 400, true, "model: Field required"},
		{"anthropic empty messages", "POST", sim.PathMessages, `{"model":"m","max_tokens":5,"messages":[]}`, 400, true, "messages"},
		{"anthropic bad content", "POST", sim.PathMessages, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":5}]}`, 400, true, "content"},
		{"unknown path", "POST", "/v1/completions", `{}`, 404, false, "Invalid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			resp, body, err := e.do(ctx, tc.method, tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			checkErrorShape(t, body, tc.anthropic, "", tc.contains)
		})
	}
}

// checkErrorShape checks body is the vendor's error object with the given
// type (when not empty) and a message containing contains.
func checkErrorShape(t *testing.T, body []byte, anthropic bool, typ, contains string) {
	t.Helper()
	var raw map[string]json.RawMessage
	mustJSON(t, string(body), &raw)
	if anthropic {
		var a anError
		mustJSON(t, string(body), &a)
		if a.Type != "error" || a.Error == nil || a.Error.Type == "" || a.Error.Message == "" || len(raw) != 2 {
			t.Fatalf("not an Anthropic error: %s", body)
		}
		if typ != "" && a.Error.Type != typ {
			t.Errorf("error.type = %q, want %q", a.Error.Type, typ)
		}
		if !strings.Contains(a.Error.Message, contains) {
			t.Errorf("error.message %q does not contain %q", a.Error.Message, contains)
		}
		return
	}
	var o oaError
	mustJSON(t, string(body), &o)
	var inner map[string]json.RawMessage
	mustJSON(t, string(raw["error"]), &inner)
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := inner[k]; !ok {
			t.Errorf("OpenAI error lacks %q: %s", k, body)
		}
	}
	if o.Error == nil || o.Error.Message == nil || o.Error.Type == nil || len(raw) != 1 {
		t.Fatalf("not an OpenAI error: %s", body)
	}
	if typ != "" && *o.Error.Type != typ {
		t.Errorf("error.type = %q, want %q", *o.Error.Type, typ)
	}
	if !strings.Contains(*o.Error.Message, contains) {
		t.Errorf("error.message %q does not contain %q", *o.Error.Message, contains)
	}
}

func TestRequireAPIKey(t *testing.T) {
	e := start(t, sim.Config{RequireAPIKey: "sk-test"})
	for _, tc := range []struct {
		name, path, body, header string
		status                   int
	}{
		{"openai missing", sim.PathChatCompletions, chatBody, "", 401},
		{"openai wrong", sim.PathChatCompletions, chatBody, "Authorization: Bearer sk-nope", 401},
		{"openai x-api-key is not enough", sim.PathChatCompletions, chatBody, "x-api-key: sk-test", 401},
		{"openai right", sim.PathChatCompletions, chatBody, "Authorization: Bearer sk-test", 200},
		{"openai lower-case scheme", sim.PathChatCompletions, chatBody, "Authorization: bearer sk-test", 200},
		{"anthropic missing", sim.PathMessages, messagesBody, "", 401},
		{"anthropic wrong", sim.PathMessages, messagesBody, "x-api-key: sk-nope", 401},
		{"anthropic bearer is not enough", sim.PathMessages, messagesBody, "Authorization: Bearer sk-test", 401},
		{"anthropic right", sim.PathMessages, messagesBody, "x-api-key: sk-test", 200},
		{"models without key", "/v1/models", "", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.header != "" {
				headers = append(headers, tc.header)
			}
			method := http.MethodPost
			if tc.body == "" {
				method = http.MethodGet
			}
			resp, body, err := e.do(t.Context(), method, tc.path, tc.body, headers...)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 401 {
				anthropic := tc.path == sim.PathMessages
				typ := "invalid_request_error"
				if anthropic {
					typ = "authentication_error"
				}
				checkErrorShape(t, body, anthropic, typ, "")
				if strings.Contains(string(body), "sk-test") || strings.Contains(string(body), "sk-nope") {
					t.Errorf("error echoes a key: %s", body)
				}
			}
		})
	}
}

func TestModels(t *testing.T) {
	e := start(t, sim.Config{})
	_, body, err := e.do(t.Context(), http.MethodGet, "/v1/models", "")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}
	mustJSON(t, string(body), &list)
	if list.Object != "list" || len(list.Data) == 0 || list.Data[0].Object != "model" || list.Data[0].ID == "" {
		t.Errorf("OpenAI model list = %s", body)
	}
	_, body, err = e.do(t.Context(), http.MethodGet, "/v1/models", "", "anthropic-version: 2023-06-01")
	if err != nil {
		t.Fatal(err)
	}
	var an struct {
		Data []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
		HasMore *bool `json:"has_more"`
	}
	mustJSON(t, string(body), &an)
	if len(an.Data) == 0 || an.Data[0].Type != "model" || an.HasMore == nil {
		t.Errorf("Anthropic model list = %s", body)
	}
}
