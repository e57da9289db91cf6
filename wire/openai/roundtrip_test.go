package openai

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/wire/internal/wiretest"
)

// recorded is where the provider keeps the bodies recorded from the API and
// from compatible hosts.
const recorded = "../../providers/openai/testdata"

func readRecorded(t *testing.T, name string) []byte { return wiretest.Read(t, recorded, name) }

func TestRoundTripCompletions(t *testing.T) {
	for _, name := range []string{"chat_completion.json", "chat_completion_empty_choices.json"} {
		c := wiretest.RoundTrip[ChatCompletion](t, name, readRecorded(t, name))
		if c.Usage != nil {
			checkUsageWriter(t, name, c.Usage)
		}
	}
}

func TestRoundTripErrors(t *testing.T) {
	for _, path := range wiretest.Glob(t, filepath.Join(recorded, "error_*.json")) {
		name := filepath.Base(path)
		e := wiretest.RoundTrip[ErrorResponse](t, name, readRecorded(t, name))
		// The hand-written writer agrees with encoding/json.
		wiretest.Equal(t, name+" (AppendJSON)", readRecorded(t, name), e.Error.AppendJSON(nil))
		// The lenient reader finds the same error.
		if got, ok := ParseError(readRecorded(t, name)); !ok || got != e.Error {
			t.Errorf("%s: ParseError = %+v, %v; want %+v", name, got, ok, e.Error)
		}
	}
}

func TestRoundTripStreams(t *testing.T) {
	for _, path := range wiretest.Glob(t, filepath.Join(recorded, "*.sse")) {
		name := filepath.Base(path)
		var reused ChatCompletionChunk
		for i, ev := range wiretest.Events(t, path) {
			data := bytes.TrimSpace(ev.Data)
			if string(data) == Done {
				continue
			}
			where := name + " event " + strconv.Itoa(i)
			if bytes.HasPrefix(data, []byte(`{"error"`)) {
				wiretest.RoundTrip[ErrorResponse](t, where, data)
				continue
			}
			c := wiretest.RoundTrip[ChatCompletionChunk](t, where, data)
			if c.Usage != nil {
				checkUsageWriter(t, where, c.Usage)
			}
			// A value reused across the stream, as the provider reuses
			// it, decodes each chunk as a fresh one does.
			reused.Reset()
			if err := json.Unmarshal(data, &reused); err != nil {
				t.Fatalf("%s: reused: %v", where, err)
			}
			out, err := json.Marshal(&reused)
			if err != nil {
				t.Fatal(err)
			}
			fresh, _ := json.Marshal(c)
			if !chunksAgree(fresh, out) {
				t.Errorf("%s: reused value decodes differently\nfresh  %s\nreused %s", where, fresh, out)
			}
		}
	}
}

// chunksAgree compares a fresh chunk with a reused one, which keeps an
// empty content on deltas that carry none.
func chunksAgree(fresh, reused []byte) bool {
	var f, r ChatCompletionChunk
	if json.Unmarshal(fresh, &f) != nil || json.Unmarshal(reused, &r) != nil || len(f.Choices) != len(r.Choices) {
		return false
	}
	for i := range f.Choices {
		fc, rc := f.Choices[i].Delta.Content, r.Choices[i].Delta.Content
		if (fc == nil && rc != nil && *rc != "") || (fc != nil && (rc == nil || *fc != *rc)) {
			return false
		}
		f.Choices[i].Delta.Content, r.Choices[i].Delta.Content = nil, nil
	}
	a, _ := json.Marshal(f)
	b, _ := json.Marshal(r)
	return bytes.Equal(a, b)
}

func TestRoundTripRequests(t *testing.T) {
	for _, path := range wiretest.Glob(t, filepath.Join(recorded, "request_*.golden.json")) {
		name := filepath.Base(path)
		var golden struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(readRecorded(t, name), &golden); err != nil {
			t.Fatal(err)
		}
		r := wiretest.RoundTrip[ChatRequest](t, name, golden.Body)
		fast, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		wiretest.SameAsEncodingJSON(t, name, r, fast)
	}
}

// checkUsageWriter compares the hand-written usage writer with
// encoding/json.
func checkUsageWriter(t *testing.T, name string, u *Usage) {
	t.Helper()
	wiretest.SameAsEncodingJSON(t, name, u, u.AppendJSON(nil))
}

func TestContentShapes(t *testing.T) {
	for _, tt := range []struct {
		in, text string
		array    bool
		nonText  int
	}{
		{`"plain"`, "plain", false, -1},
		{`"esc\"aped\n"`, "esc\"aped\n", false, -1},
		{`null`, "", false, -1},
		{`[]`, "", true, -1},
		{`[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, "a\nb", true, -1},
		{`[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]`, "a", true, 1},
	} {
		var c Content
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if c.String() != tt.text || c.IsArray() != tt.array || c.NonText() != tt.nonText {
			t.Errorf("%s: text %q array %v nonText %d", tt.in, c.String(), c.IsArray(), c.NonText())
		}
		if tt.in != "null" {
			out, _ := json.Marshal(c)
			wiretest.Equal(t, tt.in, []byte(tt.in), out)
		}
	}
	var c Content
	if err := json.Unmarshal([]byte(`5`), &c); err == nil || !strings.Contains(err.Error(), "string or an array") {
		t.Errorf("a number content: %v", err)
	}
}

func TestStatusTables(t *testing.T) {
	for status, want := range map[int]string{400: TypeInvalidRequest, 404: TypeInvalidRequest, 429: TypeRequests, 500: TypeServer, 503: TypeServer} {
		if got := TypeForStatus(status); got != want {
			t.Errorf("TypeForStatus(%d) = %q, want %q", status, got, want)
		}
	}
	for s, want := range map[string]int{CodeRateLimitExceeded: 429, TypeTokens: 429, CodeInsufficientQuota: 429,
		"engine_overloaded": 503, TypeServer: 500, CodeInvalidAPIKey: 401, "permission_denied": 403,
		CodeModelNotFound: 400, "timeout": 408, "529": 529, "200": 0, "": 0, "something": 0} {
		if got := StatusOf(s); got != want {
			t.Errorf("StatusOf(%q) = %d, want %d", s, got, want)
		}
	}
}
