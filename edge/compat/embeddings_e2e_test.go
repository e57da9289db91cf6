package compat_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge/compat"
	"github.com/careerpath/llmgateway/providers/sim"
)

// embedConfig adds two embedding models and an embedding route to the
// test configuration.
var embedConfig = map[string]string{
	config.ProviderSettingsFile: strings.Replace(testProviders, `"models": [`, `"models": [
    {"name": "text-embedding-3-small", "provider": "openai", "context_window": 8191,
     "price": {"input_per_mtok": 0.02, "output_per_mtok": 0}, "embedding": true},
    {"name": "text-embedding-3-large", "provider": "openai", "context_window": 8191,
     "price": {"input_per_mtok": 0.13, "output_per_mtok": 0}, "embedding": true},`, 1),
	config.ABTestConfigFile: strings.Replace(testRoutes, `"routes": {`, `"routes": {
    "profiles": {"variants": [{"name": "small", "provider": "openai", "model": "text-embedding-3-small", "weight": 1}]},`, 1),
}

// embeddingList is OpenAI's answer, the embedding left raw to see its
// form.
type embeddingList struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

func decodeList(t *testing.T, c call) embeddingList {
	t.Helper()
	if c.status != http.StatusOK {
		t.Fatalf("status %d: %s", c.status, c.body)
	}
	var l embeddingList
	if err := json.Unmarshal(c.body, &l); err != nil {
		t.Fatal(err)
	}
	if l.Object != "list" {
		t.Fatalf("object %q: %s", l.Object, c.body)
	}
	return l
}

func equalVectors(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %d numbers %v…, want %d %v…", what, len(got), got[:min(3, len(got))], len(want), want[:min(3, len(want))])
	}
}

// Float vectors, in order, from the route's model, with OpenAI's usage.
func TestEmbeddingsFloat(t *testing.T) {
	g := startGateway(t, embedConfig)
	c := g.post(t, compat.PathEmbeddings, `{"model":"profiles","input":["Data engineer","Nurse"],"user":"u1"}`)
	l := decodeList(t, c)
	if len(l.Data) != 2 || l.Model != "text-embedding-3-small" || c.header.Get(compat.HeaderProvider) != "openai" {
		t.Fatalf("answer %s, headers %v", c.body, c.header)
	}
	for i, in := range []string{"Data engineer", "Nurse"} {
		var v []float32
		if err := json.Unmarshal(l.Data[i].Embedding, &v); err != nil {
			t.Fatalf("embedding %d is not an array of numbers: %s", i, l.Data[i].Embedding)
		}
		if l.Data[i].Index != i || l.Data[i].Object != "embedding" {
			t.Errorf("data[%d]: index %d, object %q", i, l.Data[i].Index, l.Data[i].Object)
		}
		equalVectors(t, in, v, sim.Embedding("text-embedding-3-small", in, 0))
	}
	if want := int64(4 + 2); l.Usage.PromptTokens != want || l.Usage.TotalTokens != want {
		t.Errorf("usage %+v, want %d tokens", l.Usage, want)
	}
}

// encoding_format base64 is each float32, little-endian, in base64; a
// bare model name is a model override; dimensions shorten the vector.
func TestEmbeddingsBase64(t *testing.T) {
	g := startGateway(t, embedConfig)
	c := g.post(t, compat.PathEmbeddings, `{"model":"text-embedding-3-large","input":"Pediatric nurse","dimensions":8,"encoding_format":"base64"}`)
	l := decodeList(t, c)
	var s string
	if len(l.Data) != 1 || json.Unmarshal(l.Data[0].Embedding, &s) != nil {
		t.Fatalf("answer %s", c.body)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 32 {
		t.Fatalf("base64 %q: %d bytes, %v", s, len(raw), err)
	}
	v := make([]float32, 8)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	equalVectors(t, "base64", v, sim.Embedding("text-embedding-3-large", "Pediatric nurse", 8))
	if l.Model != "text-embedding-3-large" {
		t.Errorf("model %q", l.Model)
	}
}

// What the gateway cannot honour is refused by name in OpenAI's error
// shape; nothing reaches a provider.
func TestEmbeddingsRefusals(t *testing.T) {
	g := startGateway(t, embedConfig)
	for _, tt := range []struct {
		body, param, mention string
		status               int
	}{
		{`{"model":"anthropic_only","input":"x"}`, "", "does not embed", http.StatusBadRequest},
		{`{"model":"claude-3-5-haiku-latest","input":"x"}`, "", "has no embeddings API", http.StatusBadRequest},
		{`{"model":"profiles","input":[1,2,3]}`, "input", "token ids", http.StatusBadRequest},
		{`{"model":"profiles","input":{"a":1}}`, "input", "string", http.StatusBadRequest},
		{`{"model":"profiles","input":"x","encoding_format":"int8"}`, "encoding_format", "int8", http.StatusBadRequest},
		{`{"model":"profiles","input":["x",""]}`, "input[1]", "", http.StatusBadRequest},
		{`{"model":"profiles","input":"x","dimensions":0}`, "dimensions", "", http.StatusBadRequest},
		{`{"model":"nope","input":"x"}`, "model", "nope", http.StatusNotFound},
		{`{"input":"x"}`, "model", "required", http.StatusBadRequest},
	} {
		c := g.post(t, compat.PathEmbeddings, tt.body)
		var e struct {
			Error struct {
				Message, Type string
				Param         *string
			} `json:"error"`
		}
		if err := json.Unmarshal(c.body, &e); err != nil || c.status != tt.status || e.Error.Type == "" ||
			!strings.Contains(e.Error.Message, tt.mention) || (tt.param != "" && (e.Error.Param == nil || *e.Error.Param != tt.param)) {
			t.Errorf("%s: %d %s; want %d naming %q (param %q)", tt.body, c.status, c.body, tt.status, tt.mention, tt.param)
		}
	}
	if n := g.openai.Stats().Requests[sim.PathEmbeddings] + g.anthropic.Stats().Requests[sim.PathMessages]; n != 0 {
		t.Errorf("%d requests reached a provider", n)
	}
	if c := g.do(t, http.MethodGet, compat.PathEmbeddings, ""); c.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", c.status)
	}
}

// GET /v1/models lists embedding routes and models beside chat ones.
func TestModelsListEmbeddings(t *testing.T) {
	g := startGateway(t, embedConfig)
	c := g.do(t, http.MethodGet, compat.PathModels, "")
	var ids []string
	for _, m := range path(c.decode(t), "data").([]any) {
		ids = append(ids, path(m, "id").(string))
	}
	for _, want := range []string{"profiles", "text-embedding-3-small", "text-embedding-3-large", "gpt-4o-mini"} {
		if !slices.Contains(ids, want) {
			t.Errorf("model list %v lacks %q", ids, want)
		}
	}
}

// BenchmarkEmbeddings is one POST /v1/embeddings of two inputs through the
// whole path, over real sockets, against an instant simulator: float and
// base64 answers of 1536 numbers each, and the REST shim's Embed.
func BenchmarkEmbeddings(b *testing.B) {
	for _, bc := range []struct{ name, path, body string }{
		{"float", compat.PathEmbeddings, `{"model": "profiles", "input": ["Data engineer", "Nurse"]}`},
		{"base64", compat.PathEmbeddings, `{"model": "profiles", "input": ["Data engineer", "Nurse"], "encoding_format": "base64"}`},
		{"rest_shim", "/v1/embed", `{"route": "profiles", "inputs": ["Data engineer", "Nurse"]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := startGateway(b, embedConfig)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(g.url+bc.path, "application/json", strings.NewReader(bc.body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
