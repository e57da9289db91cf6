package strictjson

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type doc struct {
		A int `json:"a"`
	}
	tests := []struct {
		in      string
		wantErr string
	}{
		{`{"a": 1}`, ""},
		{" {\"a\": 1}\n\t", ""},
		{`{"a": 1, "b": 2}`, `unknown field "b"`},
		{`{"a": 1} {"a": 2}`, ErrTrailingData.Error()},
		{`{"a": 1}}`, ErrTrailingData.Error()},
		{`{"a": 1}]`, ErrTrailingData.Error()},
		{`{"a": "x"}`, "cannot unmarshal"},
		{``, "EOF"},
	}
	for _, tt := range tests {
		var d doc
		err := Decode([]byte(tt.in), &d)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Decode(%q) = %v", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Decode(%q) = %v, want an error with %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && d.A != 1:
			t.Errorf("Decode(%q) decoded %+v", tt.in, d)
		}
	}
	if err := DecodeReader(strings.NewReader(`{} 1`), &doc{}); !errors.Is(err, ErrTrailingData) {
		t.Errorf("DecodeReader with trailing data = %v", err)
	}
}
