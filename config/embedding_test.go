package config

import (
	"strings"
	"testing"
)

// embeddingProviders adds an embedding model to goodProviders.
var embeddingProviders = strings.Replace(goodProviders, `"models": [`, `"models": [
  {"name": "text-embedding-3-small", "provider": "openai", "context_window": 8191,
   "price": {"input_per_mtok": 0.02, "output_per_mtok": 0}, "embedding": true},`, 1)

// A route uses embedding models only or none, and an embedding route
// refuses what only generation uses, naming file and path.
func TestEmbeddingRoutes(t *testing.T) {
	const emb = `{"name": "e", "provider": "openai", "model": "text-embedding-3-small", "weight": 1`
	const chat = `{"name": "c", "provider": "openai", "model": "gpt-4o-mini", "weight": 1`
	route := func(body string) string { return `{"routes": {"r": {` + body + `}}}` }
	if err := load(t, embeddingProviders, route(`"variants": [`+emb+`}]`)); err != nil {
		t.Fatalf("an embedding route: %v", err)
	}
	for _, tt := range []struct{ ab, want string }{
		{route(`"variants": [` + emb + `}, ` + chat + `}]`), "$.routes.r.variants[1].model"},
		{route(`"variants": [` + chat + `}, ` + emb + `}]`), "$.routes.r.variants[1].model"},
		{route(`"variants": [` + emb + `}], "backups": [{"provider": "openai", "model": "gpt-4o-mini"}]`), "$.routes.r.backups[0].model"},
		{route(`"variants": [` + emb + `, "system_prompt": "x"}]`), "$.routes.r.variants[0].system_prompt"},
		{route(`"variants": [` + emb + `, "params": {"max_tokens": 10}}]`), "$.routes.r.variants[0].params"},
		{route(`"variants": [` + emb + `}], "degraded_answer": "sorry"`), "$.routes.r.degraded_answer"},
		{route(`"variants": [` + emb + `}], "cache": {"ttl": "1m"}`), "$.routes.r.cache"},
	} {
		err := load(t, embeddingProviders, tt.ab)
		if err == nil || !strings.Contains(err.Error(), ABTestConfigFile+": "+tt.want) {
			t.Errorf("%s: %v, want an error at %s", tt.ab, err, tt.want)
		}
	}
}
