package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/careerpath/llmgateway/providers"
)

// fakeKey is a credential that must never appear in an error.
const fakeKey = "sk-ant-SECRET"

// recorded is what the fake server saw of one request.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// fakeAnthropic is an httptest server that records requests and answers
// with handler.
type fakeAnthropic struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFake(t *testing.T, handler http.HandlerFunc) *fakeAnthropic {
	t.Helper()
	f := &fakeAnthropic{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAnthropic) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// replay answers with a recorded body file.
func replay(t *testing.T, status int, contentType, file string, header ...string) http.HandlerFunc {
	t.Helper()
	body := readTestdata(t, file)
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newProvider(t testing.TB, baseURL string, mod ...func(*providers.Settings)) *Provider {
	t.Helper()
	s := providers.Settings{Name: "claude", Kind: Kind, BaseURL: baseURL, APIKey: fakeKey}
	for _, m := range mod {
		m(&s)
	}
	p, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func simpleRequest() *providers.Request {
	return &providers.Request{
		Model:    "claude-sonnet-4-20250514",
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "What should I learn next?"}},
	}
}

// wantKind fails t unless err is a *providers.Error of kind that does not
// leak the API key.
func wantKind(t *testing.T, err error, kind providers.ErrorKind) {
	t.Helper()
	_ = kindErr(t, err, kind)
}

// kindErr is wantKind returning the error for further checks.
func kindErr(t *testing.T, err error, kind providers.ErrorKind) *providers.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %v", kind)
	}
	pe, ok := providers.AsError(err)
	if !ok {
		t.Fatalf("err = %T %v, want *providers.Error", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %v, want %v (err: %v)", pe.Kind, kind, err)
	}
	if strings.Contains(err.Error(), fakeKey) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error leaks the API key: %v", err)
	}
	return pe
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(providers.Kinds(), Kind) {
		t.Fatalf("kind %q not registered: %v", Kind, providers.Kinds())
	}
	p, err := providers.New(providers.Settings{Name: "primary", Kind: Kind})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "primary" {
		t.Errorf("Name() = %q", p.Name())
	}
	if got := p.(*Provider).endpoint; got != "https://api.anthropic.com/v1/messages" {
		t.Errorf("endpoint = %q", got)
	}
	bad, err := providers.New(providers.Settings{Name: "bad", Kind: Kind, Options: json.RawMessage(`{"nope":1}`)})
	if err == nil || bad != nil {
		t.Errorf("New with bad options = %v, %v; want nil and an error", bad, err)
	}
}

func TestNewSettings(t *testing.T) {
	tests := []struct {
		name      string
		s         providers.Settings
		wantErr   string
		version   string
		maxTokens int
		endpoint  string
	}{
		{name: "defaults", version: DefaultVersion, maxTokens: DefaultMaxTokens, endpoint: DefaultBaseURL + "/v1/messages"},
		{name: "empty options", s: providers.Settings{Options: json.RawMessage(` `)}, version: DefaultVersion, maxTokens: DefaultMaxTokens},
		{name: "null options", s: providers.Settings{Options: json.RawMessage(`null`)}, version: DefaultVersion, maxTokens: DefaultMaxTokens},
		{
			name:    "options",
			s:       providers.Settings{Options: json.RawMessage(`{"anthropic_version":"2024-01-01","default_max_tokens":1024}`)},
			version: "2024-01-01", maxTokens: 1024,
		},
		{
			name:     "trailing slash trimmed",
			s:        providers.Settings{BaseURL: "http://proxy.internal:8080/anthropic/"},
			version:  DefaultVersion,
			endpoint: "http://proxy.internal:8080/anthropic/v1/messages", maxTokens: DefaultMaxTokens,
		},
		{name: "unknown option", s: providers.Settings{Options: json.RawMessage(`{"max_tokens":5}`)}, wantErr: `unknown field "max_tokens"`},
		{name: "wrong type", s: providers.Settings{Options: json.RawMessage(`{"default_max_tokens":"5"}`)}, wantErr: "default_max_tokens"},
		{name: "negative max tokens", s: providers.Settings{Options: json.RawMessage(`{"default_max_tokens":-1}`)}, wantErr: "negative"},
		{name: "trailing data", s: providers.Settings{Options: json.RawMessage(`{} {}`)}, wantErr: "unexpected data"},
		{name: "relative base url", s: providers.Settings{BaseURL: "api.anthropic.com"}, wantErr: "base_url"},
		{name: "negative timeout", s: providers.Settings{Timeout: -time.Second}, wantErr: "timeout"},
		{name: "invalid header name", s: providers.Settings{Headers: map[string]string{"Bad Header": "x"}}, wantErr: `invalid header "Bad Header"`},
		{name: "invalid header value", s: providers.Settings{Headers: map[string]string{"X-Team": "a\r\nInjected: 1"}}, wantErr: `invalid header "X-Team"`},
		{name: "invalid api key", s: providers.Settings{APIKey: "sk-ant-\nsecret"}, wantErr: "api key contains invalid characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.Name = "claude"
			p, err := New(tt.s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.header.Get("Anthropic-Version"); got != tt.version {
				t.Errorf("version = %q, want %q", got, tt.version)
			}
			if p.maxTokens != tt.maxTokens {
				t.Errorf("maxTokens = %d, want %d", p.maxTokens, tt.maxTokens)
			}
			if tt.endpoint != "" && p.endpoint != tt.endpoint {
				t.Errorf("endpoint = %q, want %q", p.endpoint, tt.endpoint)
			}
		})
	}
}

func TestRequestHeaders(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		options string
		version string
	}{
		{"default version", fakeKey, "", DefaultVersion},
		{"version option", fakeKey, `{"anthropic_version":"2099-12-31"}`, "2099-12-31"},
		{"no key", "", "", DefaultVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, replay(t, 200, "application/json", "message.json"))
			p := newProvider(t, f.URL+"/", func(s *providers.Settings) {
				s.APIKey = tt.key
				s.Options = json.RawMessage(tt.options)
				s.Headers = map[string]string{"anthropic-beta": "prompt-caching-2024-07-31", "x-api-key": "from-headers"}
			})
			if _, err := p.Complete(context.Background(), simpleRequest()); err != nil {
				t.Fatal(err)
			}
			r := f.requests()[0]
			if r.Method != http.MethodPost || r.Path != "/v1/messages" {
				t.Errorf("request = %s %s, want POST /v1/messages", r.Method, r.Path)
			}
			wantKey := tt.key
			if wantKey == "" {
				wantKey = "from-headers" // nothing to override the operator's header
			}
			for h, want := range map[string]string{
				"x-api-key":         wantKey,
				"anthropic-version": tt.version,
				"content-type":      "application/json",
				"anthropic-beta":    "prompt-caching-2024-07-31",
			} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if r.Header.Get("Authorization") != "" {
				t.Error("Authorization header sent; Anthropic uses x-api-key")
			}
		})
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		name string
		file string
		want providers.Response
	}{
		{
			name: "text with prompt cache",
			file: "message.json",
			want: providers.Response{
				ID:           "msg_01XFDUDYJgAACzvnptvVoYEL",
				Model:        "claude-sonnet-4-20250514",
				Text:         "A strong next step toward a data engineering role is to build one end-to-end pipeline project: ingest a public dataset, model it in a warehouse, and schedule it with an orchestrator.",
				FinishReason: providers.FinishStop,
				Usage: providers.Usage{
					InputTokens:              21 + 188 + 1024,
					OutputTokens:             42,
					CachedInputTokens:        1024,
					CacheCreationInputTokens: 188,
				},
			},
		},
		{
			name: "thinking and several text blocks",
			file: "message_blocks.json",
			want: providers.Response{
				ID:    "msg_01Aq9w938a90dw8q",
				Model: "claude-sonnet-4-20250514",
				Text:  "Top skills: SQL, Python and dbt.",
				Parts: &[]providers.Part{
					{Kind: providers.PartThinking, Thinking: &providers.Thinking{Text: "The user wants a short list of skills.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}},
					providers.TextPart("Top skills: SQL, "), providers.TextPart("Python and dbt."),
				},
				FinishReason: providers.FinishLength,
				Usage:        providers.Usage{InputTokens: 310, OutputTokens: 16},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, replay(t, 200, "application/json", tt.file))
			p := newProvider(t, f.URL)
			got, err := p.Complete(context.Background(), simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	for in, want := range map[string]providers.FinishReason{
		"end_turn":                      providers.FinishStop,
		"stop_sequence":                 providers.FinishStop,
		"pause_turn":                    providers.FinishStop,
		"max_tokens":                    providers.FinishLength,
		"model_context_window_exceeded": providers.FinishLength,
		"tool_use":                      providers.FinishToolCalls,
		"refusal":                       providers.FinishContentFilter,
		"":                              providers.FinishUnknown,
		"something_new":                 providers.FinishUnknown,
	} {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// errorCase is one upstream failure, checked through Complete and Stream.
type errorCase struct {
	name       string
	handler    func(t *testing.T) http.HandlerFunc
	kind       providers.ErrorKind
	status     int
	code       string
	msg        string // substring of Message
	retryAfter time.Duration
	notInError []string
}

func errorCases() []errorCase {
	retryDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	return []errorCase{
		{
			name: "400 invalid_request_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 400, "application/json", "errors/invalid_request.json")
			},
			kind: providers.KindBadRequest, status: 400, code: "invalid_request_error", msg: "roles must alternate",
		},
		{
			name: "400 prompt is too long",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 400, "application/json", "errors/prompt_too_long.json")
			},
			kind: providers.KindContextLength, status: 400, code: "invalid_request_error", msg: "prompt is too long",
		},
		{
			name: "400 exceed context limit",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 400, "application/json", "errors/context_limit.json")
			},
			kind: providers.KindContextLength, status: 400, code: "invalid_request_error", msg: "exceed context limit",
		},
		{
			name: "401 authentication_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 401, "application/json", "errors/authentication_error.json")
			},
			kind: providers.KindAuth, status: 401, code: "authentication_error", msg: authMessage,
			notInError: []string{"invalid x-api-key"},
		},
		{
			name: "403 permission_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 403, "application/json", "errors/permission_error.json")
			},
			kind: providers.KindAuth, status: 403, code: "permission_error", msg: authMessage,
			notInError: []string{"does not have permission"},
		},
		{
			name: "404 not_found_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 404, "application/json", "errors/not_found.json")
			},
			kind: providers.KindBadRequest, status: 404, code: "not_found_error", msg: "claude-sonnet-9",
		},
		{
			name: "413 request_too_large",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 413, "application/json", "errors/request_too_large.json")
			},
			kind: providers.KindContextLength, status: 413, code: "request_too_large", msg: "maximum allowed number of bytes",
		},
		{
			name: "429 with Retry-After seconds",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 429, "application/json", "errors/rate_limit.json", "Retry-After", "17")
			},
			kind: providers.KindRateLimited, status: 429, code: "rate_limit_error", msg: "rate limit", retryAfter: 17 * time.Second,
		},
		{
			name: "429 with Retry-After date",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 429, "application/json", "errors/rate_limit.json", "Retry-After", retryDate)
			},
			kind: providers.KindRateLimited, status: 429, code: "rate_limit_error", retryAfter: 90 * time.Second,
		},
		{
			name: "402 billing_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 402, "application/json", "errors/billing_error.json")
			},
			kind: providers.KindQuotaExhausted, status: 402, code: "billing_error", msg: "credit balance is too low",
		},
		{
			name: "500 api_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 500, "application/json", "errors/api_error.json")
			},
			kind: providers.KindServer, status: 500, code: "api_error", msg: "Internal server error",
		},
		{
			name: "529 overloaded_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 529, "application/json", "errors/overloaded.json", "Retry-After", "2")
			},
			kind: providers.KindOverloaded, status: 529, code: "overloaded_error", msg: "Overloaded", retryAfter: 2 * time.Second,
		},
		{
			name: "500 carrying overloaded_error",
			handler: func(t *testing.T) http.HandlerFunc {
				return replay(t, 500, "application/json", "errors/overloaded.json")
			},
			kind: providers.KindOverloaded, status: 500, code: "overloaded_error", msg: "Overloaded",
		},
		{
			name: "JSON without an error object",
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = io.WriteString(w, `{"message":"Internal server error"}`)
				}
			},
			kind: providers.KindServer, status: 500, msg: "Internal server error",
		},
		{
			name:    "502 HTML page",
			handler: func(t *testing.T) http.HandlerFunc { return replay(t, 502, "text/html", "errors/bad_gateway.html") },
			kind:    providers.KindMalformed, status: 502, msg: "502 Bad Gateway",
			notInError: []string{"<html", "<title>"},
		},
		{
			name:    "503 HTML page keeps overloaded",
			handler: func(t *testing.T) http.HandlerFunc { return replay(t, 503, "text/html", "errors/bad_gateway.html") },
			kind:    providers.KindOverloaded, status: 503,
		},
		{
			name: "huge HTML error page is capped",
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = w.Write([]byte("<html>" + strings.Repeat("x", 4<<20)))
				}
			},
			kind: providers.KindMalformed, status: 500,
		},
		{
			name: "connection reset",
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					conn, _, err := http.NewResponseController(w).Hijack()
					if err != nil {
						t.Error(err)
						return
					}
					resetConn(conn)
				}
			},
			kind: providers.KindUnavailable,
		},
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range errorCases() {
		for _, mode := range []string{"complete", "stream"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				f := newFake(t, tt.handler(t))
				p := newProvider(t, f.URL)
				var err error
				if mode == "complete" {
					_, err = p.Complete(context.Background(), simpleRequest())
				} else {
					var s providers.Stream
					s, err = p.Stream(context.Background(), simpleRequest())
					if s != nil {
						_ = s.Close()
						t.Fatal("Stream succeeded on an error response")
					}
				}
				checkError(t, err, tt)
			})
		}
	}
}

func checkError(t *testing.T, err error, tt errorCase) {
	t.Helper()
	pe := kindErr(t, err, tt.kind)
	if pe.Provider != "claude" {
		t.Errorf("Provider = %q", pe.Provider)
	}
	if pe.StatusCode != tt.status {
		t.Errorf("StatusCode = %d, want %d", pe.StatusCode, tt.status)
	}
	if pe.Code != tt.code {
		t.Errorf("Code = %q, want %q", pe.Code, tt.code)
	}
	if !strings.Contains(pe.Message, tt.msg) {
		t.Errorf("Message = %q, want it to contain %q", pe.Message, tt.msg)
	}
	if len(pe.Message) > providers.MaxMessageBytes+64 {
		t.Errorf("Message is %d bytes long", len(pe.Message))
	}
	if d := pe.RetryAfter - tt.retryAfter; d < -2*time.Second || d > 0 && tt.retryAfter == 0 || d > 2*time.Second {
		t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.retryAfter)
	}
	for _, s := range tt.notInError {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}

func TestCompleteMalformed(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"garbage", string(readTestdata(t, "errors/garbage.txt"))},
		{"empty", ""},
		{"not a message", `{"object":"chat.completion","choices":[]}`},
		{"wrong types", `{"type":"message","id":"msg_1","content":"hello","usage":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := newProvider(t, f.URL).Complete(context.Background(), simpleRequest())
			pe := kindErr(t, err, providers.KindMalformed)
			if len(pe.Message) > 200 {
				t.Errorf("Message too long: %q", pe.Message)
			}
		})
	}
}

func TestCompleteErrorWith200(t *testing.T) {
	f := newFake(t, replay(t, 200, "application/json", "errors/overloaded.json"))
	_, err := newProvider(t, f.URL).Complete(context.Background(), simpleRequest())
	wantKind(t, err, providers.KindOverloaded)
}

func TestCompleteTooLarge(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"type":"message","content":[{"type":"text","text":"`)
		_, _ = w.Write([]byte(strings.Repeat("a", maxResponseBytes)))
		_, _ = io.WriteString(w, `"}]}`)
	})
	_, err := newProvider(t, f.URL).Complete(context.Background(), simpleRequest())
	wantKind(t, err, providers.KindMalformed)
}

func TestBadRequestWithoutNetwork(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*providers.Request)
		want string
	}{
		{"assistant first", func(r *providers.Request) {
			r.Messages = []providers.Message{{Role: providers.RoleSystem, Content: "Be brief."}, {Role: providers.RoleAssistant, Content: "Hi"}, {Role: providers.RoleUser, Content: "Hello"}}
		}, "first non-system message"},
		{"temperature above 1", func(r *providers.Request) { r.Temperature = ptr(1.5) }, "temperature"},
		{"negative temperature", func(r *providers.Request) { r.Temperature = ptr(-0.1) }, "temperature"},
		{"top_p above 1", func(r *providers.Request) { r.TopP = ptr(2.0) }, "top_p"},
		{"no model", func(r *providers.Request) { r.Model = "" }, "model"},
		{"negative max tokens", func(r *providers.Request) { r.MaxTokens = -1 }, "max_tokens"},
		{"only system", func(r *providers.Request) {
			r.Messages = []providers.Message{{Role: providers.RoleSystem, Content: "Be brief."}}
		}, "user message"},
		{"unknown role", func(r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: "developer", Content: "{}"})
		}, `role "developer"`},
	}
	f := newFake(t, replay(t, 200, "application/json", "message.json"))
	p := newProvider(t, f.URL)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := simpleRequest()
			tt.mod(req)
			_, err := p.Complete(context.Background(), req)
			pe := kindErr(t, err, providers.KindBadRequest)
			if !strings.Contains(pe.Message, tt.want) {
				t.Errorf("Message = %q, want it to name %q", pe.Message, tt.want)
			}
			s, err := p.Stream(context.Background(), req)
			if s != nil {
				t.Fatal("Stream returned a stream")
			}
			wantKind(t, err, providers.KindBadRequest)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// hangUntilDone blocks until the client goes away (or the test ends).
func hangUntilDone(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFake(t, hangUntilDone(release))

	tests := []struct {
		name    string
		timeout time.Duration
		cancel  time.Duration // caller cancels after this
		kind    providers.ErrorKind
	}{
		{"attempt timeout fires", 50 * time.Millisecond, 0, providers.KindTimeout},
		{"caller cancels", 10 * time.Second, 50 * time.Millisecond, providers.KindCanceled},
		{"caller cancels without timeout", 0, 50 * time.Millisecond, providers.KindCanceled},
	}
	for _, tt := range tests {
		for _, mode := range []string{"complete", "stream"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				p := newProvider(t, f.URL, func(s *providers.Settings) { s.Timeout = tt.timeout })
				ctx := context.Background()
				if tt.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					time.AfterFunc(tt.cancel, cancel)
					defer cancel()
				}
				start := time.Now()
				var err error
				if mode == "complete" {
					_, err = p.Complete(ctx, simpleRequest())
				} else {
					_, err = p.Stream(ctx, simpleRequest())
				}
				wantKind(t, err, tt.kind)
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v", d)
				}
			})
		}
	}
}

func TestCompleteTimeoutDuringBody(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message",`)
		w.(http.Flusher).Flush()
		hangUntilDone(release)(w, r)
	})
	p := newProvider(t, f.URL, func(s *providers.Settings) { s.Timeout = 50 * time.Millisecond })
	_, err := p.Complete(context.Background(), simpleRequest())
	wantKind(t, err, providers.KindTimeout)
}

func TestUnavailable(t *testing.T) {
	f := httptest.NewServer(http.NotFoundHandler())
	url := f.URL
	f.Close() // nothing listens there any more
	p := newProvider(t, url)
	_, err := p.Complete(context.Background(), simpleRequest())
	wantKind(t, err, providers.KindUnavailable)
	_, err = p.Stream(context.Background(), simpleRequest())
	wantKind(t, err, providers.KindUnavailable)
}

// TestConcurrentBodies checks, under the race detector, that pooled
// request buffers are never shared between requests in flight.
func TestConcurrentBodies(t *testing.T) {
	f := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"type":"message","id":"x","content":[{"type":"text","text":%q}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`, req.Messages[0].Content)
	}))
	t.Cleanup(f.Close)
	p := newProvider(t, f.URL)
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				want := fmt.Sprintf("request %d/%d %s", i, j, strings.Repeat("z", (i*j)%500))
				req := simpleRequest()
				req.Messages[0].Content = want
				resp, err := p.Complete(context.Background(), req)
				if err != nil || resp.Text != want {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d requests came back wrong", n)
	}
}

func TestRedact(t *testing.T) {
	p := &Provider{text: providers.Redactor{Key: "custom-key-123", KeyPrefix: keyPrefix}}
	tests := []struct{ in, want string }{
		{"key custom-key-123 here", "key [REDACTED] here"},
		{"bad sk-ant-api03-AbC_d-9 and sk-ant-x", "bad [REDACTED] and [REDACTED]"},
		{"sk-ant-", "[REDACTED]"},
		{"nothing", "nothing"},
	}
	for _, tt := range tests {
		if got := p.text.Redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := p.text.Excerpt(readTestdata(t, "errors/bad_gateway.html")); strings.Contains(got, "SECRET") || strings.Contains(got, "<") || len(got) > providers.MaxExcerptBytes+8 {
		t.Errorf("excerpt = %q", got)
	}
	if got := p.text.Clean("a\x00b\n" + strings.Repeat("é", 400)); strings.ContainsAny(got, "\x00\n") || len(got) > providers.MaxMessageBytes+4 || !strings.HasSuffix(got, "…") {
		t.Errorf("clean = %q", got)
	}
}

func TestErrorUnwrap(t *testing.T) {
	f := newFake(t, hangUntilDone(nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newProvider(t, f.URL).Complete(ctx, simpleRequest())
	wantKind(t, err, providers.KindCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
}
