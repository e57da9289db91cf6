package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"
)

// FuzzObjectKeys checks the key scanner that strict decoding relies on
// against encoding/json: every key of a valid object, in full.
func FuzzObjectKeys(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1,{"c":"}"}],"d\"e":"\\\"","f":{"g":[]},"h":null,"i":-1.5e3, "j" : true }`,
		`[]`, `"x"`, `{"\u0041":{}}`, " {\n\t\"k\" :\r\"v\" } "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil || m == nil {
			return
		}
		var got []string
		objectKeys(data, func(k []byte) bool { got = append(got, string(k)); return true })
		seen := map[string]bool{}
		uniq := []string{}
		for _, k := range got {
			if !seen[k] {
				seen[k] = true
				uniq = append(uniq, k)
			}
		}
		want := make([]string, 0, len(m))
		for k := range m {
			want = append(want, k)
		}
		sort.Strings(uniq)
		sort.Strings(want)
		if !reflect.DeepEqual(uniq, want) {
			t.Fatalf("%s: keys %q, want %q", data, uniq, want)
		}
	})
}

// FuzzArrayElems checks the element scanner against encoding/json.
func FuzzArrayElems(f *testing.F) {
	for _, s := range []string{`[]`, `[1, "a,]", {"b":[2,3]}, [[]], null, -2e5 ,true]`, `{}`, ` [ "x" ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil || want == nil {
			return
		}
		got := []json.RawMessage{}
		_ = arrayElems(data, func(i int, e []byte) error {
			if i != len(got) {
				t.Fatalf("index %d after %d elements", i, len(got))
			}
			got = append(got, e)
			return nil
		})
		if len(got) != len(want) {
			t.Fatalf("%s: %d elements, want %d", data, len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("%s: element %d %s, want %s", data, i, got[i], want[i])
			}
		}
	})
}

func TestDecodeStrictExactKeys(t *testing.T) {
	var r ResponseRequest
	err := DecodeResponseRequest([]byte(`{"Model": "m"}`), &r)
	if fe := (*FieldError)(nil); !errors.As(err, &fe) || fe.Field != "Model" {
		t.Fatalf("%v", err)
	}
	err = DecodeResponseRequest([]byte(`{"input": [{"role": "user", "content": [{"type": "input_text", "text": "x", "Text": "y"}]}]}`), &r)
	if fe := (*FieldError)(nil); !errors.As(err, &fe) || fe.Field != "input[0].content[0].Text" {
		t.Fatalf("%v", err)
	}
}
