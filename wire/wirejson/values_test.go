package wirejson

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestInUse(t *testing.T) {
	for in, want := range map[string]bool{`null`: false, `false`: false, `[]`: false, `[ ]`: false, `{}`: false, `""`: false,
		`[{"type":"function"}]`: true, `true`: true, `{"a":1}`: true, `"x"`: true} {
		if got := InUse(json.RawMessage(in)); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
	if InUse(nil) {
		t.Error("an absent field is in use")
	}
}

func TestStringOrArray(t *testing.T) {
	type part struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	errNeither := errors.New("neither")
	textOf := func(p *part) (string, bool) { return p.Text, p.Type == "text" }
	for _, tt := range []struct {
		in, text string
		array    bool
		err      error
	}{
		{`"plain"`, "plain", false, nil},
		{`"a\nb \u00e9"`, "a\nb é", false, nil},
		{`null`, "", false, nil},
		{`[]`, "", true, nil},
		{`[{"type":"text","text":"a"},{"type":"image"},{"type":"text","text":"b"}]`, "a\nb", true, nil},
		{`[{"type":"text","text":"only"}]`, "only", true, nil},
		{`5`, "", false, errNeither},
	} {
		var text string
		var parts []part
		err := UnmarshalStringOrArray([]byte(tt.in), &text, &parts, errNeither)
		if !errors.Is(err, tt.err) {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if parts != nil {
			text = JoinText(parts, textOf)
		}
		if text != tt.text || (parts != nil) != tt.array {
			t.Errorf("%s: %q array %v", tt.in, text, parts != nil)
		}
	}
}

func TestMarshalLeavesHTML(t *testing.T) {
	b, err := Marshal([]byte("x"), map[string]string{"a": "<b> & c"})
	if err != nil || string(b) != `x{"a":"<b> & c"}` {
		t.Fatalf("%s %v", b, err)
	}
}
