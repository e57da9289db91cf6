package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

func goldenRequests() []struct {
	name   string
	stream bool
	req    providers.Request
} {
	sys, user, asst := providers.RoleSystem, providers.RoleUser, providers.RoleAssistant
	return []struct {
		name   string
		stream bool
		req    providers.Request
	}{
		{
			name: "system_hoist",
			req: providers.Request{
				Model: "claude-sonnet-4-20250514",
				Messages: []providers.Message{
					{Role: sys, Content: "You are a career coach."},
					{Role: user, Content: "I am a data analyst."},
					{Role: sys, Content: "Answer in at most three sentences."},
					{Role: asst, Content: "Great, what would you like to become?"},
					{Role: user, Content: "A data engineer."},
				},
				MaxTokens:   512,
				Temperature: ptr(0.2),
				TopP:        ptr(0.9),
				Stop:        []string{"\n\nHuman:", "END"},
				Seed:        ptr(int64(42)), // not supported by Anthropic: absent
				User:        "user-7f3a9c",
			},
		},
		{
			name: "merge",
			req: providers.Request{
				Model: "claude-3-5-haiku-latest",
				Messages: []providers.Message{
					{Role: user, Content: "First question."},
					{Role: user, Content: ""},
					{Role: user, Content: "Second question."},
					{Role: asst, Content: "First answer."},
					{Role: sys, Content: ""},
					{Role: asst, Content: "Second answer."},
					{Role: user, Content: "Thanks!"},
				},
				Temperature: ptr(0.0),
			},
		},
		{
			name:   "stream",
			stream: true,
			req: providers.Request{
				Model:     "claude-sonnet-4-20250514",
				Messages:  []providers.Message{{Role: sys, Content: "Be brief."}, {Role: user, Content: "Hello"}},
				MaxTokens: 64,
			},
		},
		{
			name: "escaping",
			req: providers.Request{
				Model: "claude-sonnet-4-20250514",
				Messages: []providers.Message{{Role: user, Content: "quote \" backslash \\ tab \t nl \n cr \r bell \a " +
					"html <b>&amp;</b> unicode é 日本 🚀 line-sep \u2028 para-sep \u2029 bad-utf8 \xff\xfe end"}},
				Temperature: ptr(1e-7),
			},
		},
	}
}

// TestGoldenRequests pins the wire JSON; run with -update to rewrite.
func TestGoldenRequests(t *testing.T) {
	p := newProvider(t, "")
	for _, tt := range goldenRequests() {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := p.appendRequest(nil, &tt.req, tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			if ref := refEncode(t, &tt.req, DefaultMaxTokens, tt.stream); !bytes.Equal(got, ref) {
				t.Errorf("differs from encoding/json:\n got %s\nwant %s", got, ref)
			}
			var indented bytes.Buffer
			_ = json.Indent(&indented, got, "", "  ")
			indented.WriteByte('\n')
			path := filepath.Join("testdata", "request_"+tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(indented.Bytes(), want) {
				t.Errorf("%s differs:\n got %s\nwant %s", path, indented.Bytes(), want)
			}
		})
	}
}

// TestRequestOnTheWire checks that the server receives exactly the encoded
// body, with its length.
func TestRequestOnTheWire(t *testing.T) {
	f := newFake(t, replay(t, 200, "application/json", "message.json"))
	p := newProvider(t, f.URL)
	req := goldenRequests()[0].req
	if _, err := p.Complete(context.Background(), &req); err != nil {
		t.Fatal(err)
	}
	want, _, _ := p.appendRequest(nil, &req, false)
	r := f.requests()[0]
	if !bytes.Equal(r.Body, want) {
		t.Errorf("server got %s\nwant %s", r.Body, want)
	}
}

// refEncode is the obvious translation through encoding/json: an oracle
// for the hand-written encoder.
func refEncode(t testing.TB, req *providers.Request, defaultMax int, stream bool) []byte {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type metadata struct {
		UserID string `json:"user_id"`
	}
	var w struct {
		Model         string    `json:"model"`
		MaxTokens     int       `json:"max_tokens"`
		System        string    `json:"system,omitempty"`
		Messages      []msg     `json:"messages"`
		Temperature   *float64  `json:"temperature,omitempty"`
		TopP          *float64  `json:"top_p,omitempty"`
		StopSequences []string  `json:"stop_sequences,omitempty"`
		Metadata      *metadata `json:"metadata,omitempty"`
		Stream        bool      `json:"stream,omitempty"`
	}
	w.Model, w.MaxTokens = req.Model, req.MaxTokens
	if w.MaxTokens == 0 {
		w.MaxTokens = defaultMax
	}
	var system []string
	for _, m := range req.Messages {
		switch {
		case m.Content == "":
		case m.Role == providers.RoleSystem:
			system = append(system, m.Content)
		case len(w.Messages) > 0 && w.Messages[len(w.Messages)-1].Role == string(m.Role):
			w.Messages[len(w.Messages)-1].Content += "\n\n" + m.Content
		default:
			w.Messages = append(w.Messages, msg{string(m.Role), m.Content})
		}
	}
	w.System = strings.Join(system, "\n\n")
	w.Temperature, w.TopP, w.StopSequences, w.Stream = req.Temperature, req.TopP, req.Stop, stream
	if req.User != "" {
		w.Metadata = &metadata{req.User}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// FuzzTranslateRequest compares the hand-written encoder with encoding/json
// on arbitrary text and numbers.
func FuzzTranslateRequest(f *testing.F) {
	f.Add("claude", "sys", "hello \"you\"\n", "hi <there> & \u2028", "again\xff", uint8(0b0110), 0.5, 0.9, "END", "u1")
	f.Add("m", "", "a", "b", "c", uint8(0), 1e-9, 1.0, "", "")
	f.Fuzz(func(t *testing.T, model, s, a, b, c string, roles uint8, temp, topP float64, stop, user string) {
		role := func(bit uint8) providers.Role {
			if roles&bit != 0 {
				return providers.RoleAssistant
			}
			return providers.RoleUser
		}
		req := &providers.Request{
			Model: model,
			Messages: []providers.Message{
				{Role: providers.RoleSystem, Content: s},
				{Role: providers.RoleUser, Content: a},
				{Role: role(1), Content: b},
				{Role: role(2), Content: c},
			},
			Temperature: &temp,
			TopP:        &topP,
			User:        user,
		}
		if stop != "" {
			req.Stop = []string{stop, stop}
		}
		p := &Provider{name: "fuzz", maxTokens: DefaultMaxTokens}
		got, _, err := p.appendRequest(nil, req, roles&4 != 0)
		first := providers.Role("")
		for _, m := range req.Messages[1:] {
			if m.Content != "" {
				first = m.Role
				break
			}
		}
		valid := model != "" && first == providers.RoleUser && temp >= 0 && temp <= 1 && topP >= 0 && topP <= 1
		if (err == nil) != valid {
			t.Fatalf("err = %v, want valid=%v", err, valid)
		}
		if err != nil {
			if providers.KindOf(err) != providers.KindBadRequest {
				t.Fatalf("kind = %v", providers.KindOf(err))
			}
			return
		}
		if want := refEncode(t, req, DefaultMaxTokens, roles&4 != 0); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func TestDefaultMaxTokensOption(t *testing.T) {
	p := newProvider(t, "", func(s *providers.Settings) { s.Options = json.RawMessage(`{"default_max_tokens":777}`) })
	got, _, err := p.appendRequest(nil, simpleRequest(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`"max_tokens":777`)) {
		t.Errorf("body %s lacks the default max_tokens", got)
	}
}
