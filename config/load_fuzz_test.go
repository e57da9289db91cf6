package config

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzLoad loads arbitrary provider_settings.json, ab_test_config.json
// and rate_limits.json: loading never panics, and a refusal names the
// file it is about. The seeds are small on purpose: the fuzzing engine
// minimizes every new input, which takes long on files the size of the
// embedded defaults (TestDefault loads those).
func FuzzLoad(f *testing.F) {
	f.Add(`{"providers": {"p": {"kind": "sim"}}, "models": [{"name": "m", "provider": "p", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`,
		`{"routes": {"r": {"variants": [{"name": "v", "provider": "p", "model": "m", "weight": 1, "user_template": "{{.Vars.x}}"}]}}}`,
		`{"limits": [{"name": "l", "scope": ["user", "route"], "requests_per_minute": 1}]}`)
	f.Add(`{"providers": {"p": {"kind": "openai", "base_url": "file:///etc/passwd", "timeout": "-1s"}}}`,
		`{"routes": {"r": {"variants": [{"name": "v", "weight": -1}]}}, "datasets": {"d": {"path": "../x.jsonl"}}}`,
		`{"limits": [{"name": "l", "usd_per_day": 1e309}]}`)
	f.Add("{", "null", "[]")
	f.Fuzz(func(t *testing.T, providers, routes, limits string) {
		fsys := fstest.MapFS{
			ProviderSettingsFile: {Data: []byte(providers)},
			ABTestConfigFile:     {Data: []byte(routes)},
		}
		if limits != "" {
			fsys[RateLimitsFile] = &fstest.MapFile{Data: []byte(limits)}
		}
		cfg, err := LoadFS(fsys)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil configuration without an error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) {
			return // an error of the file system itself
		}
		for _, e := range errs {
			msg := e.Error()
			if !strings.HasPrefix(msg, ProviderSettingsFile) && !strings.HasPrefix(msg, ABTestConfigFile) &&
				!strings.HasPrefix(msg, RateLimitsFile) && !strings.Contains(msg, ".jsonl") {
				t.Fatalf("error names no file: %q", msg)
			}
		}
	})
}
