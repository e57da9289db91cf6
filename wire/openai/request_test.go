package openai

import (
	"encoding/json"
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
