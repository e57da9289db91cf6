package anthropic

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/wire/internal/wiretest"
)

// recorded is where the provider keeps the bodies recorded from the API.
const recorded = "../../providers/anthropic/testdata"

func readRecorded(t *testing.T, name string) []byte { return wiretest.Read(t, recorded, name) }

func TestRoundTripMessages(t *testing.T) {
	for _, name := range []string{"message.json", "message_blocks.json"} {
		m := wiretest.RoundTrip[Message](t, name, readRecorded(t, name))
		if m.Usage != nil {
			checkUsageWriter(t, name, m.Usage)
		}
	}
	m := wiretest.RoundTrip[Message](t, "message_blocks.json", readRecorded(t, "message_blocks.json"))
	if got := AnswerText(m.Content); got != "Top skills: SQL, Python and dbt." {
		t.Errorf("AnswerText = %q", got)
	}
}

func TestRoundTripErrors(t *testing.T) {
	for _, path := range wiretest.Glob(t, filepath.Join(recorded, "errors", "*.json")) {
		name := filepath.Join("errors", filepath.Base(path))
		m := wiretest.RoundTrip[Message](t, name, readRecorded(t, name))
		if m.Type != TypeError || m.Error == nil {
			t.Fatalf("%s: not an error body: %+v", name, m)
		}
		// The hand-written writer agrees, but for the request id.
		want := readRecorded(t, name)
		var body map[string]json.RawMessage
		if err := json.Unmarshal(want, &body); err != nil {
			t.Fatal(err)
		}
		delete(body, "request_id")
		want, _ = json.Marshal(body)
		wiretest.Equal(t, name+" (AppendJSON)", want, m.Error.AppendJSON(nil))
		if st := StatusOf(m.Error.Type); st == 0 {
			t.Errorf("%s: error type %q has no status", name, m.Error.Type)
		} else if TypeForStatus(st) != m.Error.Type {
			t.Errorf("%s: TypeForStatus(%d) = %q, want %q", name, st, TypeForStatus(st), m.Error.Type)
		}
	}
}

func TestRoundTripStreams(t *testing.T) {
	for _, path := range wiretest.Glob(t, filepath.Join(recorded, "*.sse")) {
		name := filepath.Base(path)
		for i, ev := range wiretest.Events(t, path) {
			where := name + " event " + strconv.Itoa(i)
			e := wiretest.RoundTrip[Event](t, where, ev.Data)
			if string(e.Type) != ev.Name {
				t.Errorf("%s: type %q under event %q", where, e.Type, ev.Name)
			}
			if e.Usage != nil {
				checkUsageWriter(t, where, e.Usage)
			}
			if e.Message != nil && e.Message.Usage != nil {
				checkUsageWriter(t, where, e.Message.Usage)
			}
		}
	}
}

func TestRoundTripRequests(t *testing.T) {
	for _, path := range wiretest.Glob(t, filepath.Join(recorded, "request_*.golden.json")) {
		name := filepath.Base(path)
		r := wiretest.RoundTrip[MessagesRequest](t, name, readRecorded(t, name))
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
		nonText  int
	}{
		{`"plain"`, "plain", -1},
		{`"a <b> & \"c\""`, `a <b> & "c"`, -1},
		{`[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"b"}]`, "a\nb", -1},
		{`[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]`, "look", 1},
		{`[{"type":"tool_result","tool_use_id":"toolu_1","content":"42","is_error":true}]`, "", 0},
		{`[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"x"}}]`, "", 0},
		{`[{"type":"thinking","thinking":"","signature":""}]`, "", 0},
	} {
		var c Content
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if c.String() != tt.text || c.NonText() != tt.nonText {
			t.Errorf("%s: text %q nonText %d", tt.in, c.String(), c.NonText())
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		wiretest.Equal(t, tt.in, []byte(tt.in), out)
	}
	var c Content
	if err := json.Unmarshal([]byte(`{}`), &c); err == nil || !strings.Contains(err.Error(), "string or an array") {
		t.Errorf("an object content: %v", err)
	}
}

func TestTypeDecodesWithoutAllocating(t *testing.T) {
	var typ Type
	in := []byte(`"content_block_delta"`)
	if n := testing.AllocsPerRun(100, func() { _ = typ.UnmarshalJSON(in) }); n != 0 {
		t.Errorf("%v allocations per known type", n)
	}
	if typ != TypeContentBlockDelta {
		t.Errorf("type %q", typ)
	}
	if err := typ.UnmarshalJSON([]byte(`"brand_new"`)); err != nil || typ != "brand_new" {
		t.Errorf("unknown type: %q %v", typ, err)
	}
}
