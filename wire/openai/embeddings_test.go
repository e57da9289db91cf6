package openai

import (
	"encoding/json"
	"math"
	"testing"
)

// Input is a string or an array of strings; token ids are kept apart.
func TestEmbeddingInput(t *testing.T) {
	for _, tt := range []struct {
		in     string
		texts  []string
		tokens bool
		err    bool
	}{
		{in: `"a"`, texts: []string{"a"}},
		{in: `["a","b"]`, texts: []string{"a", "b"}},
		{in: `[]`, texts: []string{}},
		{in: `[1,2,3]`, tokens: true},
		{in: `[[1,2],[3]]`, tokens: true},
		{in: `["a",{}]`, err: true},
		{in: `null`, err: true},
		{in: `{}`, err: true},
	} {
		var r EmbeddingRequest
		err := json.Unmarshal([]byte(`{"model":"m","input":`+tt.in+`}`), &r)
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v", tt.in, err)
			continue
		}
		if tt.err {
			continue
		}
		if (r.Input.Tokens != nil) != tt.tokens || len(r.Input.Texts) != len(tt.texts) {
			t.Errorf("%s: got %+v", tt.in, r.Input)
		}
		for i := range tt.texts {
			if r.Input.Texts[i] != tt.texts[i] {
				t.Errorf("%s: got %q", tt.in, r.Input.Texts)
			}
		}
	}
}

// Base64 is each float32, little-endian, as OpenAI writes it: 1.0 is
// 00 00 80 3f.
func TestVectorBase64(t *testing.T) {
	if got := EncodeBase64([]float32{1}); got != "AACAPw==" {
		t.Errorf("EncodeBase64(1) = %q, want AACAPw==", got)
	}
	in := []float32{1, -0.5, float32(math.Pi), 1e-30}
	b, err := json.Marshal(Vector{Floats: in, Base64: true})
	if err != nil {
		t.Fatal(err)
	}
	var v Vector
	if err := json.Unmarshal(b, &v); err != nil || !v.Base64 || len(v.Floats) != len(in) {
		t.Fatalf("%s: %+v %v", b, v, err)
	}
	for i := range in {
		if v.Floats[i] != in[i] {
			t.Errorf("%d: %v, want %v", i, v.Floats[i], in[i])
		}
	}
	if _, err := DecodeBase64("AACA"); err == nil {
		t.Error("3 bytes decoded as float32s")
	}
}

// AppendJSON writes what encoding/json writes.
func TestEmbeddingResponseAppendJSON(t *testing.T) {
	vecs := [][]float32{{1, -0.5, float32(math.Pi), 1e-30, 3e25, 0, -1e-7, 123456789}, {}, {0.1}}
	for _, b64 := range []bool{false, true} {
		r := NewEmbeddingResponse("m\"x", vecs, b64, 42)
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil)
		if err != nil || string(got) != string(want) {
			t.Errorf("base64 %v:\n got %s %v\nwant %s", b64, got, err, want)
		}
	}
	r := NewEmbeddingResponse("m", [][]float32{{float32(math.NaN())}}, false, 1)
	if _, err := r.AppendJSON(nil); err == nil {
		t.Error("NaN written")
	}
}
