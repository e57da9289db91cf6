package openai

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/careerpath/llmgateway/wire/internal/wiretest"
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

// FuzzEmbeddingRequest decodes arbitrary bodies as the simulator and the
// compatible API do: it must never panic, and a request that decodes
// encodes to a body that decodes to the same request.
func FuzzEmbeddingRequest(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"model":"m","input":"a"}`, `{"input":["a","\u2028"],"dimensions":8}`,
		`{"input":[1,2],"encoding_format":"base64"}`, `{"input":[[1],[2,3]],"user":"u"}`, `{"input":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r EmbeddingRequest
		if json.Unmarshal(body, &r) != nil {
			return
		}
		out, err := json.Marshal(&r)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		var again EmbeddingRequest
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if (r.Input.Tokens == nil) != (again.Input.Tokens == nil) || len(r.Input.Texts) != len(again.Input.Texts) ||
			r.Model != again.Model || r.EncodingFormat != again.EncodingFormat || r.User != again.User {
			t.Fatalf("round trip changed the request\nin  %s\nout %s", body, out)
		}
		for i := range r.Input.Texts {
			if r.Input.Texts[i] != again.Input.Texts[i] {
				t.Fatalf("input %d: %q became %q", i, r.Input.Texts[i], again.Input.Texts[i])
			}
		}
	})
}

// The recorded embeddings answer and request decode strictly and encode
// back to the same JSON, by encoding/json and by AppendJSON.
func TestRoundTripEmbeddings(t *testing.T) {
	r := wiretest.RoundTrip[EmbeddingResponse](t, "embeddings.json", readRecorded(t, "embeddings.json"))
	out, err := r.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	wiretest.Equal(t, "embeddings.json (AppendJSON)", readRecorded(t, "embeddings.json"), out)
	wiretest.RoundTrip[EmbeddingRequest](t, "embeddings_request.golden.json", readRecorded(t, "embeddings_request.golden.json"))
}
