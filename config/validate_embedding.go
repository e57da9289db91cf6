package config

import "fmt"

// validateEmbeddingRoute checks that route r, at path, uses embedding
// models only or none: an embedding route is one whose first variant's
// model is an embedding model. What only generation uses (prompts,
// generation parameters, enrichment, a degraded answer, an answer cache,
// a schema policy, a budget fallback variant) is refused on an embedding route, named, rather than
// ignored.
func (c *Config) validateEmbeddingRoute(add func(file, path, format string, args ...any), path string, r Route) {
	if len(r.Variants) == 0 {
		return
	}
	embedding := func(t Target) bool {
		m, ok := c.ModelFor(t.Provider, t.Model)
		return ok && m.Embedding
	}
	want := embedding(r.Variants[0].Target)
	kind := func(e bool) string {
		if e {
			return "an embedding model"
		}
		return "a chat model"
	}
	for i, v := range r.Variants {
		vp := fmt.Sprintf("%s.variants[%d]", path, i)
		if _, ok := c.ModelFor(v.Provider, v.Model); ok && embedding(v.Target) != want {
			add(ABTestConfigFile, vp+".model", "%s/%s is %s, variants[0]'s is %s: a route uses embedding models only or none",
				v.Provider, v.Model, kind(!want), kind(want))
		}
		if !want {
			continue
		}
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"system_prompt", v.SystemPrompt != ""}, {"system_template", v.SystemTemplate != ""},
			{"user_template", v.UserTemplate != ""},
			{"params", v.Params.MaxTokens != 0 || v.Params.Temperature != nil || v.Params.TopP != nil},
		} {
			if f.set {
				add(ABTestConfigFile, vp+"."+f.name, "an embedding route takes no %s", f.name)
			}
		}
	}
	for i, b := range r.Backups {
		if _, ok := c.ModelFor(b.Provider, b.Model); ok && embedding(b) != want {
			add(ABTestConfigFile, fmt.Sprintf("%s.backups[%d].model", path, i), "%s/%s is %s, variants[0]'s is %s: a route uses embedding models only or none",
				b.Provider, b.Model, kind(!want), kind(want))
		}
	}
	if !want {
		return
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"degraded_answer", r.DegradedAnswer != ""}, {"enrichment", r.Enrichment != nil},
		{"cache", r.Cache != nil}, {"on_schema_mismatch", r.OnSchemaMismatch != ""},
		{"budget_fallback_variant", r.BudgetFallbackVariant != ""},
	} {
		if f.set {
			add(ABTestConfigFile, path+"."+f.name, "an embedding route takes no %s", f.name)
		}
	}
}
