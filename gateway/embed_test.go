package gateway_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/gateway"
	_ "github.com/careerpath/llmgateway/providers/sim"
)

// An embedding model on a provider without an embeddings API refuses the
// configuration, naming the model; on the openai wire it is built.
func TestEmbeddingModelNeedsAnEmbedder(t *testing.T) {
	for wire, ok := range map[string]bool{"openai": true, "anthropic": false, "gemini": false} {
		cfg, err := config.LoadFS(fstest.MapFS{
			config.ProviderSettingsFile: {Data: []byte(`{
  "providers": {"p": {"kind": "sim", "options": {"wire": "` + wire + `"}}},
  "models": [{"name": "text-embedding-3-small", "provider": "p", "context_window": 8191,
              "price": {"input_per_mtok": 0.02, "output_per_mtok": 0}, "embedding": true}]
}`)},
			config.ABTestConfigFile: {Data: []byte(`{"routes": {"r": {"variants": [
  {"name": "e", "provider": "p", "model": "text-embedding-3-small", "weight": 1}]}}}`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := gateway.BuildRuntime(cfg, gateway.RuntimeOptions{})
		if ok != (err == nil) {
			t.Errorf("wire %s: %v", wire, err)
		}
		if err != nil && !strings.Contains(err.Error(), "$.models[0].embedding") {
			t.Errorf("wire %s: %v does not name the model", wire, err)
		}
		if rt != nil {
			rt.Close()
		}
	}
}
