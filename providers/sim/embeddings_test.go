package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sim"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
)

// newSimProvider builds a sim provider speaking wire.
func newSimProvider(t *testing.T, wire string) *sim.Provider {
	t.Helper()
	p, err := providers.New(providers.Settings{Name: "emb", Kind: sim.Kind, Options: json.RawMessage(`{"wire":"` + wire + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	sp := p.(*sim.Provider)
	t.Cleanup(func() { _ = sp.Close() })
	return sp
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// The OpenAI client in front of the simulator gets one unit vector per
// input, the simulator's own, shortened to the dimensions asked for.
func TestEmbedThroughOpenAIClient(t *testing.T) {
	p := newSimProvider(t, sim.WireOpenAI)
	e, ok := providers.EmbedderOf(p)
	if !ok {
		t.Fatal("a sim provider of the openai wire cannot embed")
	}
	resp, err := e.Embed(context.Background(), &providers.EmbedRequest{Model: "text-embedding-3-small",
		Inputs: []string{"data engineer", "nurse practitioner"}, Dimensions: 256})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 2 || resp.Model != "text-embedding-3-small" {
		t.Fatalf("got %d vectors of model %q", len(resp.Vectors), resp.Model)
	}
	for i, in := range []string{"data engineer", "nurse practitioner"} {
		v := resp.Vectors[i]
		if len(v) != 256 || math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("vector %d: length %d, norm %v", i, len(v), norm(v))
		}
		want := sim.Embedding("text-embedding-3-small", in, 256)
		for j := range v {
			if v[j] != want[j] {
				t.Fatalf("vector %d differs from the simulator's at %d: %v != %v", i, j, v[j], want[j])
			}
		}
	}
	if resp.Vectors[0][0] == resp.Vectors[1][0] {
		t.Error("two texts got the same vector")
	}
	if want := int64((len("data engineer")+3)/4 + (len("nurse practitioner")+3)/4); resp.Usage.InputTokens != want {
		t.Errorf("input tokens %d, want %d", resp.Usage.InputTokens, want)
	}
	full := sim.Embedding("text-embedding-3-large", "x", 0)
	if len(full) != 3072 {
		t.Errorf("text-embedding-3-large: %d numbers, want 3072", len(full))
	}
	short := sim.Embedding("text-embedding-3-large", "x", 3)
	scale := norm(full[:3])
	for i := range short {
		if math.Abs(float64(short[i])-float64(full[i])/scale) > 1e-6 {
			t.Errorf("shortened %d: %v, want the full vector's first numbers renormalised", i, short)
		}
	}
}

// A sim provider of a wire without an embeddings API cannot embed.
func TestEmbedRefusedOnOtherWires(t *testing.T) {
	for _, w := range []string{sim.WireAnthropic, sim.WireGemini} {
		if _, ok := providers.EmbedderOf(newSimProvider(t, w)); ok {
			t.Errorf("wire %s: EmbedderOf says it embeds", w)
		}
	}
}

// Base64 answers are the float answers' float32s, little-endian.
func TestEmbeddingsBase64(t *testing.T) {
	e := start(t, sim.Config{})
	var got [2]openaiwire.EmbeddingResponse
	for i, format := range []string{"float", "base64"} {
		resp, body := e.post(sim.PathEmbeddings, `{"model":"text-embedding-3-small","input":"hello","dimensions":8,"encoding_format":"`+format+`"}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", format, resp.StatusCode, body)
		}
		if format == "base64" && !strings.Contains(string(body), `"embedding":"`) {
			t.Errorf("base64 answer without a base64 string: %s", body)
		}
		if err := json.Unmarshal(body, &got[i]); err != nil {
			t.Fatal(err)
		}
	}
	f, b := got[0].Data[0].Embedding.Floats, got[1].Data[0].Embedding.Floats
	if len(f) != 8 || len(b) != 8 {
		t.Fatalf("lengths %d and %d, want 8", len(f), len(b))
	}
	for i := range f {
		if f[i] != b[i] {
			t.Fatalf("base64 %v != float %v", b, f)
		}
	}
	if got[0].Object != "list" || got[0].Data[0].Object != "embedding" || got[0].Usage.TotalTokens != 2 {
		t.Errorf("answer %+v", got[0])
	}
}

// The simulator refuses what OpenAI refuses, in OpenAI's error shape, and
// the client maps it to a typed error.
func TestEmbeddingsRefusals(t *testing.T) {
	e := start(t, sim.Config{})
	for _, body := range []string{
		`{"model":"text-embedding-ada-002","input":"x","dimensions":8}`,
		`{"model":"text-embedding-3-small","input":[]}`,
		`{"model":"text-embedding-3-small","input":""}`,
		`{"model":"text-embedding-3-small","input":"x","dimensions":2000}`,
		`{"model":"text-embedding-3-small","input":"x","encoding_format":"int8"}`,
		`{"input":"x"}`,
	} {
		resp, b := e.post(sim.PathEmbeddings, body)
		var er openaiwire.ErrorResponse
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &er) != nil || er.Error.Type != openaiwire.TypeInvalidRequest {
			t.Errorf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	p := newSimProvider(t, sim.WireOpenAI)
	if err := p.Simulator().SetFault(sim.Fault{Status: 429, Path: sim.PathEmbeddings, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Embed(context.Background(), &providers.EmbedRequest{Model: "text-embedding-3-small", Inputs: []string{"x"}})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindRateLimited {
		t.Errorf("after a 429: %v", err)
	}
}
