package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"

	"github.com/careerpath/llmgateway/providers"
)

var (
	namePattern   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)
	envVarPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the configuration as a whole, across files, and returns
// every problem found as [Errors].
func (c *Config) Validate() error {
	var errs Errors
	add := func(file, path, format string, args ...any) {
		errs = append(errs, &Error{File: file, Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	const ps, ab = ProviderSettingsFile, ABTestConfigFile

	if len(c.Providers.Providers) == 0 {
		add(ps, "$.providers", "at least one provider is required")
	}
	known := providers.Kinds()
	for _, name := range sortedKeys(c.Providers.Providers) {
		p := c.Providers.Providers[name]
		path := "$.providers." + name
		if !namePattern.MatchString(name) {
			add(ps, path, "provider name must match %s", namePattern)
		}
		switch {
		case p.Kind == "":
			add(ps, path+".kind", "is required (one of %v)", known)
		case !slices.Contains(known, p.Kind):
			add(ps, path+".kind", "unknown provider kind %q (one of %v)", p.Kind, known)
		}
		if p.BaseURL != "" {
			u, err := url.Parse(p.BaseURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(ps, path+".base_url", "must be an absolute http or https URL")
			}
		}
		if p.APIKeyEnv != "" && !envVarPattern.MatchString(p.APIKeyEnv) {
			add(ps, path+".api_key_env", "must be an environment variable name, not a key")
		}
		if p.APIKeyEnv != "" && p.APIKeyFile != "" {
			add(ps, path, "set api_key_env or api_key_file, not both")
		}
		validateResilience(add, ps, path, p)
	}

	seen := map[Target]bool{}
	for i, m := range c.Providers.Models {
		path := fmt.Sprintf("$.models[%d]", i)
		if m.Name == "" {
			add(ps, path+".name", "is required")
		}
		if _, ok := c.Providers.Providers[m.Provider]; !ok {
			add(ps, path+".provider", "unknown provider %q", m.Provider)
		}
		t := Target{Provider: m.Provider, Model: m.Name}
		if seen[t] {
			add(ps, path, "model %q of provider %q is listed twice", m.Name, m.Provider)
		}
		seen[t] = true
		if m.ContextWindow < 0 {
			add(ps, path+".context_window", "must not be negative")
		}
		pr := m.Price
		if pr.InputPerMTok < 0 || pr.OutputPerMTok < 0 || pr.CachedInputPerMTok < 0 || pr.CacheWriteInputPerMTok < 0 {
			add(ps, path+".price", "prices must not be negative")
		}
	}

	checkTarget := func(path string, t Target) {
		if _, ok := c.Providers.Providers[t.Provider]; !ok {
			add(ab, path+".provider", "unknown provider %q (not in %s)", t.Provider, ps)
			return
		}
		if !seen[t] {
			add(ab, path+".model", "unknown model %q for provider %q (not in %s)", t.Model, t.Provider, ps)
		}
	}

	if len(c.Routes.Routes) == 0 {
		add(ab, "$.routes", "at least one route is required")
	}
	for _, name := range sortedKeys(c.Routes.Routes) {
		r := c.Routes.Routes[name]
		path := "$.routes." + name
		if !namePattern.MatchString(name) {
			add(ab, path, "route name must match %s", namePattern)
		}
		if len(r.Variants) == 0 {
			add(ab, path+".variants", "at least one variant is required")
		}
		total := 0
		names := map[string]bool{}
		for i, v := range r.Variants {
			vp := fmt.Sprintf("%s.variants[%d]", path, i)
			if !namePattern.MatchString(v.Name) {
				add(ab, vp+".name", "is required and must match %s", namePattern)
			}
			if names[v.Name] {
				add(ab, vp+".name", "duplicate variant name %q", v.Name)
			}
			names[v.Name] = true
			checkTarget(vp, v.Target)
			if v.Weight < 0 {
				add(ab, vp+".weight", "must not be negative")
			} else if v.Weight > MaxWeight {
				add(ab, vp+".weight", "must be at most %d", MaxWeight)
			}
			total += v.Weight
			validateParams(add, ab, vp+".params", v.Params)
			validatePrompts(add, vp, r, v)
			c.validateRecordFields(add, vp, r, v)
		}
		if len(r.Variants) > 0 && total <= 0 {
			add(ab, path+".variants", "weights must add up to more than 0")
		}
		if len(r.Variants) > MaxVariants {
			add(ab, path+".variants", "at most %d variants", MaxVariants)
		}
		backups := map[Target]int{}
		for i, b := range r.Backups {
			bp := fmt.Sprintf("%s.backups[%d]", path, i)
			checkTarget(bp, b)
			if first, dup := backups[b]; dup {
				add(ab, bp, "backup %s/%s is already listed as backups[%d]: a chain must not try the same target twice", b.Provider, b.Model, first)
			} else {
				backups[b] = i
			}
		}
		if r.Timeout > Duration(MaxRouteTimeout) {
			add(ab, path+".timeout", "must be at most %s", MaxRouteTimeout)
		}
		c.validateExperiment(add, path, r)
		c.validateEnrichment(add, path, r)
		c.validateEmbeddingRoute(add, path, r)
		switch r.OnSchemaMismatch {
		case "", OnSchemaMismatchRetry, OnSchemaMismatchFailOver, OnSchemaMismatchPass:
		default:
			add(ABTestConfigFile, path+".on_schema_mismatch", "must be %q, %q or %q, not %q",
				OnSchemaMismatchRetry, OnSchemaMismatchFailOver, OnSchemaMismatchPass, r.OnSchemaMismatch)
		}
	}
	c.validateExperimentIDs(add)
	c.validateDatasets(add)
	c.validateRateLimits(add)
	if c.Clients != nil {
		routes := make(map[string]bool, len(c.Routes.Routes))
		for name := range c.Routes.Routes {
			routes[name] = true
		}
		errs = append(errs, c.Clients.ValidateRoutes(routes)...)
	}
	return errs.err()
}

func validateResilience(add func(file, path, format string, args ...any), file, path string, p Provider) {
	if r := p.Retry; r != nil {
		if r.MaxAttempts < 0 || r.MaxAttempts > 10 {
			add(file, path+".retry.max_attempts", "must be between 1 and 10")
		}
		if r.MaxBackoff != 0 && r.MaxBackoff < r.InitialBackoff {
			add(file, path+".retry.max_backoff", "must not be less than initial_backoff")
		}
		if r.MaxRetryAfter < 0 {
			add(file, path+".retry.max_retry_after", "must not be negative")
		}
		if r.Jitter < 0 || r.Jitter >= 1 {
			add(file, path+".retry.jitter", "must be at least 0 and less than 1")
		}
	}
	if b := p.CircuitBreaker; b != nil {
		if b.FailureRate < 0 || b.FailureRate > 1 {
			add(file, path+".circuit_breaker.failure_rate", "must be between 0 and 1")
		}
		if b.MinRequests < 0 {
			add(file, path+".circuit_breaker.min_requests", "must not be negative")
		}
		if b.HalfOpenProbes < 0 {
			add(file, path+".circuit_breaker.half_open_probes", "must not be negative")
		}
	}
	if p.MaxConcurrency < 0 {
		add(file, path+".max_concurrency", "must not be negative")
	}
	if h := p.Hedge; h != nil {
		switch {
		case (h.Delay == 0) == (h.Quantile == 0):
			add(file, path+".hedge", "set exactly one of delay and quantile")
		case h.Quantile != 0 && (h.Quantile <= 0 || h.Quantile >= 1):
			add(file, path+".hedge.quantile", "must be between 0 and 1, e.g. 0.95")
		}
	}
}

func validateParams(add func(file, path, format string, args ...any), file, path string, p Params) {
	if p.MaxTokens < 0 {
		add(file, path+".max_tokens", "must not be negative")
	}
	if p.Temperature != nil && (*p.Temperature < 0 || *p.Temperature > 2) {
		add(file, path+".temperature", "must be between 0 and 2")
	}
	if p.TopP != nil && (*p.TopP <= 0 || *p.TopP > 1) {
		add(file, path+".top_p", "must be greater than 0 and at most 1")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
