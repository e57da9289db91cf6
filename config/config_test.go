package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

func TestMain(m *testing.M) {
	for _, kind := range []string{"openai", "anthropic", "gemini", "sim"} {
		providers.Register(kind, func(providers.Settings) (providers.Provider, error) { return nil, errors.New("unused") })
	}
	os.Exit(m.Run())
}

const goodProviders = `{
  "providers": {"openai": {"kind": "openai", "api_key_env": "OPENAI_API_KEY", "timeout": "10s"}},
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000,
              "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}]
}`

const goodRoutes = `{
  "routes": {"career_advice": {"variants": [
    {"name": "a", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]}}
}`

func load(t *testing.T, ps, ab string) error {
	t.Helper()
	_, err := LoadFS(fstest.MapFS{
		ProviderSettingsFile: {Data: []byte(ps)},
		ABTestConfigFile:     {Data: []byte(ab)},
	})
	return err
}

func TestLoadGood(t *testing.T) {
	if err := load(t, goodProviders, goodRoutes); err != nil {
		t.Fatal(err)
	}
}

func TestRouteTimeoutAndMaxRetryAfter(t *testing.T) {
	cfg, err := LoadFS(fstest.MapFS{
		ProviderSettingsFile: {Data: []byte(strings.Replace(goodProviders, `"timeout": "10s"`,
			`"timeout": "10s", "retry": {"max_backoff": "2s", "max_retry_after": "20s"}`, 1))},
		ABTestConfigFile: {Data: []byte(strings.Replace(goodRoutes, `"variants"`, `"timeout": "15s", "variants"`, 1))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(cfg.Routes.Routes["career_advice"].Timeout); got != 15*time.Second {
		t.Errorf("route timeout %v, want 15s", got)
	}
	if got := time.Duration(cfg.Providers.Providers["openai"].Retry.MaxRetryAfter); got != 20*time.Second {
		t.Errorf("max_retry_after %v, want 20s", got)
	}
}

func TestLoadErrorsNameFileAndPath(t *testing.T) {
	tests := []struct {
		name     string
		ps, ab   string
		wantErrs []string
	}{
		{"unknown kind", strings.Replace(goodProviders, `"kind": "openai"`, `"kind": "gpt"`, 1), goodRoutes,
			[]string{`provider_settings.json: $.providers.openai.kind: unknown provider kind "gpt"`}},
		{"missing kind", strings.Replace(goodProviders, `"kind": "openai", `, ``, 1), goodRoutes,
			[]string{`provider_settings.json: $.providers.openai.kind: is required`}},
		{"unknown field", strings.Replace(goodProviders, `"timeout"`, `"timeuot"`, 1), goodRoutes,
			[]string{`provider_settings.json: unknown field "timeuot"`}},
		{"bad duration", strings.Replace(goodProviders, `"10s"`, `"ten seconds"`, 1), goodRoutes,
			[]string{`provider_settings.json`, `invalid duration "ten seconds"`}},
		{"syntax error", goodProviders, "{\n  \"routes\": {,\n}", []string{`ab_test_config.json: invalid JSON at line 2`}},
		{"wrong type", goodProviders, strings.Replace(goodRoutes, `"weight": 1`, `"weight": "1"`, 1),
			[]string{`ab_test_config.json: $.routes.variants.weight: must be int, not string (line 3)`}},
		{"unknown model", goodProviders, strings.Replace(goodRoutes, `"model": "gpt-4o-mini"`, `"model": "gpt-5"`, 1),
			[]string{`ab_test_config.json: $.routes.career_advice.variants[0].model: unknown model "gpt-5"`}},
		{"unknown provider", goodProviders, strings.Replace(goodRoutes, `"provider": "openai"`, `"provider": "azure"`, 1),
			[]string{`ab_test_config.json: $.routes.career_advice.variants[0].provider: unknown provider "azure"`}},
		{"zero weights", goodProviders, strings.Replace(goodRoutes, `"weight": 1`, `"weight": 0`, 1),
			[]string{`$.routes.career_advice.variants: weights must add up to more than 0`}},
		{"key in env field", strings.Replace(goodProviders, `"OPENAI_API_KEY"`, `"sk-live-abc"`, 1), goodRoutes,
			[]string{`$.providers.openai.api_key_env: must be an environment variable name, not a key`}},
		{"bad temperature", goodProviders, strings.Replace(goodRoutes, `"weight": 1`, `"weight": 1, "params": {"temperature": 3}`, 1),
			[]string{`$.routes.career_advice.variants[0].params.temperature: must be between 0 and 2`}},
		{"route timeout not a duration", goodProviders, strings.Replace(goodRoutes, `"variants"`, `"timeout": "soon", "variants"`, 1),
			[]string{`ab_test_config.json`, `invalid duration "soon"`}},
		{"route timeout too long", goodProviders, strings.Replace(goodRoutes, `"variants"`, `"timeout": "2h", "variants"`, 1),
			[]string{`ab_test_config.json: $.routes.career_advice.timeout: must be at most 1h0m0s`}},
		{"max_retry_after not a duration", strings.Replace(goodProviders, `"timeout": "10s"`, `"timeout": "10s", "retry": {"max_retry_after": "a while"}`, 1), goodRoutes,
			[]string{`provider_settings.json`, `invalid duration "a while"`}},
		{"no routes", goodProviders, `{"routes": {}}`, []string{`ab_test_config.json: $.routes: at least one route is required`}},
		{"two errors at once", strings.Replace(goodProviders, `"kind": "openai"`, `"kind": "gpt"`, 1),
			strings.Replace(goodRoutes, `"weight": 1`, `"weight": -1`, 1),
			[]string{`$.providers.openai.kind`, `$.routes.career_advice.variants[0].weight: must not be negative`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := load(t, tt.ps, tt.ab)
			if err == nil {
				t.Fatal("config accepted")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "provider_settings.json: file not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{ProviderSettingsFile: goodProviders, ABTestConfigFile: goodRoutes} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := cfg.ModelFor("openai", "gpt-4o-mini"); !ok || m.ContextWindow != 128000 {
		t.Fatalf("ModelFor = %+v, %v", m, ok)
	}
}

func TestDefault(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg, err := Default(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Routes.Routes["career_advice"]; !ok {
		t.Fatal("default config has no career_advice route")
	}
	for _, name := range []string{"openai", "anthropic", "gemini"} {
		if k := cfg.Providers.Providers[name].Kind; k != "sim" {
			t.Errorf("without keys, provider %s is %q, want sim", name, k)
		}
	}
	env["OPENAI_API_KEY"] = "sk-test"
	env["OPENAI_BASE_URL"] = "http://127.0.0.1:1/v1"
	cfg, err = Default(getenv)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers.Providers["openai"]
	if p.Kind != "openai" || p.BaseURL != "http://127.0.0.1:1/v1" || p.APIKeyEnv != "OPENAI_API_KEY" {
		t.Fatalf("with OPENAI_API_KEY: %+v", p)
	}
	if cfg.Providers.Providers["anthropic"].Kind != "sim" {
		t.Fatal("anthropic should stay simulated without its key")
	}
	key, err := p.APIKey("openai", getenv)
	if err != nil || key != "sk-test" {
		t.Fatalf("APIKey = %q, %v", key, err)
	}
	env["GEMINI_API_KEY"] = "AIza-test"
	cfg, err = Default(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.Providers.Providers["gemini"]; g.Kind != "gemini" || g.BaseURL != "" || g.APIKeyEnv != "GEMINI_API_KEY" {
		t.Fatalf("with GEMINI_API_KEY: %+v", g)
	}
}

func TestAPIKeyMissingEnvNamesField(t *testing.T) {
	p := Provider{APIKeyEnv: "NOT_SET_ANYWHERE"}
	_, err := p.APIKey("openai", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "$.providers.openai.api_key_env: environment variable NOT_SET_ANYWHERE is not set") {
		t.Fatalf("err = %v", err)
	}
}

func TestPriceCost(t *testing.T) {
	p := Price{InputPerMTok: 3, OutputPerMTok: 15, CachedInputPerMTok: 0.3, CacheWriteInputPerMTok: 3.75}
	u := providers.Usage{InputTokens: 1_000_000, CachedInputTokens: 200_000, CacheCreationInputTokens: 100_000, OutputTokens: 10_000}
	// 700k plain * 3 + 200k * 0.3 + 100k * 3.75 + 10k * 15, per million
	want := 2.1 + 0.06 + 0.375 + 0.15
	if got := p.Cost(u); got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("Cost = %v, want %v", got, want)
	}
	if got := p.CostNanos(u); got != 2_685_000_000 {
		t.Fatalf("CostNanos = %d", got)
	}
}

// Cached input, cache writes and reasoning are priced by their parts.
func TestPriceCostParts(t *testing.T) {
	gpt := Price{InputPerMTok: 0.15, OutputPerMTok: 0.6, CachedInputPerMTok: 0.075}
	claude := Price{InputPerMTok: 3, OutputPerMTok: 15, CachedInputPerMTok: 0.3, CacheWriteInputPerMTok: 3.75}
	tests := []struct {
		name  string
		price Price
		usage providers.Usage
		want  int64
	}{
		// $0.15 per million is 150 nano-dollars a token.
		{"cached input at its price", gpt, providers.Usage{InputTokens: 1000, CachedInputTokens: 800}, 200*150 + 800*75},
		{"cache write at its price", claude, providers.Usage{InputTokens: 10_000, CacheCreationInputTokens: 10_000}, 37_500_000},
		// Reasoning tokens are inside the output count: priced once, as output.
		{"reasoning is output", claude, providers.Usage{InputTokens: 100, OutputTokens: 1000, ReasoningTokens: 900}, 15_300_000},
		{"no cached price falls back to input", Price{InputPerMTok: 2}, providers.Usage{InputTokens: 500, CachedInputTokens: 500}, 1_000_000},
	}
	for _, tt := range tests {
		if got := tt.price.CostNanos(tt.usage); got != tt.want {
			t.Errorf("%s: CostNanos = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestPriceCostNanos: costs are exact integer nano-dollars, rounded half
// up once, and Cost is that amount as the nearest double.
func TestPriceCostNanos(t *testing.T) {
	mini := Price{InputPerMTok: 0.15, OutputPerMTok: 0.6}
	for _, tc := range []struct {
		name  string
		price Price
		u     providers.Usage
		want  int64
	}{
		// 21 × 0.15 + 15 × 0.6 dollars per million: 3.15 + 9 µ$; as
		// floats, 1.2149999999999999e-05.
		{"small answer", mini, providers.Usage{InputTokens: 21, OutputTokens: 15}, 12_150},
		{"one token", mini, providers.Usage{InputTokens: 1}, 150},
		{"under half a nano-dollar", Price{InputPerMTok: 0.0003}, providers.Usage{InputTokens: 1}, 0},
		{"half a nano-dollar rounds up", Price{InputPerMTok: 0.0005}, providers.Usage{InputTokens: 1}, 1},
		{"fractions add up before rounding", Price{InputPerMTok: 0.0003, OutputPerMTok: 0.0003}, providers.Usage{InputTokens: 1, OutputTokens: 1}, 1},
		{"cached and written at their own prices",
			Price{InputPerMTok: 3, OutputPerMTok: 15, CachedInputPerMTok: 0.3, CacheWriteInputPerMTok: 3.75},
			providers.Usage{InputTokens: 1_000_000, CachedInputTokens: 200_000, CacheCreationInputTokens: 100_000, OutputTokens: 10_000},
			2_685_000_000},
		{"a billion tokens at $100 per million", Price{OutputPerMTok: 100}, providers.Usage{OutputTokens: 1_000_000_000}, 100_000 * NanosPerUSD},
		{"no price", Price{}, providers.Usage{InputTokens: 5, OutputTokens: 5}, 0},
	} {
		if got := tc.price.CostNanos(tc.u); got != tc.want {
			t.Errorf("%s: CostNanos = %d, want %d", tc.name, got, tc.want)
		}
		if got, want := tc.price.Cost(tc.u), float64(tc.want)/NanosPerUSD; got != want {
			t.Errorf("%s: Cost = %v, want %v", tc.name, got, want)
		}
	}
	if got := mini.Cost(providers.Usage{InputTokens: 21, OutputTokens: 15}); got != 0.00001215 {
		t.Errorf("Cost = %v, want 0.00001215", got)
	}
}

func TestRateLimits(t *testing.T) {
	fsys := func(rl string) fstest.MapFS {
		return fstest.MapFS{
			ProviderSettingsFile: {Data: []byte(goodProviders)},
			ABTestConfigFile:     {Data: []byte(goodRoutes)},
			RateLimitsFile:       {Data: []byte(rl)},
		}
	}
	cfg, err := LoadFS(fsys(`{"limits": [{"name": "u", "scope": ["user", "route"], "routes": ["career_advice"], "tokens_per_minute": 1000, "usd_per_day": 1.5}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.RateLimits.Limits[0]; l.TokensPerMinute != 1000 || l.USDPerDay != 1.5 || len(l.Scope) != 2 {
		t.Fatalf("limit = %+v", l)
	}
	for _, tc := range []struct{ rl, want string }{
		{`{"limits": [{"name": "u", "scope": ["tenant"], "requests_per_minute": 1}]}`, `rate_limits.json: $.limits[0].scope[0]: unknown scope "tenant"`},
		{`{"limits": [{"name": "u", "routes": ["nope"], "requests_per_minute": 1}]}`, `rate_limits.json: $.limits[0].routes[0]: unknown route "nope"`},
		{`{"limits": [{"name": "u"}]}`, `rate_limits.json: $.limits[0]: sets no limit`},
		{`{"limits": [{"name": "u", "requests_per_minute": -1}]}`, `$.limits[0]: limits must not be negative`},
		{`{"limits": [{"name": "u", "rpm": 1}]}`, `rate_limits.json: unknown field "rpm"`},
		{`{"limits": [{"name": "u", "requests_per_minute": 1}, {"name": "u", "requests_per_minute": 2}]}`, `$.limits[1].name: duplicate limit name "u"`},
	} {
		_, err := LoadFS(fsys(tc.rl))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.rl, err, tc.want)
		}
	}
}

func TestVersionIsAContentHash(t *testing.T) {
	a := fstest.MapFS{ProviderSettingsFile: {Data: []byte(goodProviders)}, ABTestConfigFile: {Data: []byte(goodRoutes)}}
	b := fstest.MapFS{ProviderSettingsFile: {Data: []byte(goodProviders)}, ABTestConfigFile: {Data: []byte(goodRoutes)},
		"notes.txt": {Data: []byte("ignored")}}
	c := fstest.MapFS{ProviderSettingsFile: {Data: []byte(goodProviders + " ")}, ABTestConfigFile: {Data: []byte(goodRoutes)}}
	va, _ := Version(a)
	vb, _ := Version(b)
	vc, _ := Version(c)
	if va != vb || va == vc || len(va) != 12 {
		t.Fatalf("versions %q %q %q", va, vb, vc)
	}
}

func TestVersionFollowsSymlinks(t *testing.T) {
	// A Kubernetes ConfigMap mounts files as links into a ..data directory.
	dir := t.TempDir()
	data := filepath.Join(dir, "..data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{ProviderSettingsFile: goodProviders, ABTestConfigFile: goodRoutes} {
		if err := os.WriteFile(filepath.Join(data, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	linked, err := Version(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Version(fstest.MapFS{ProviderSettingsFile: {Data: []byte(goodProviders)}, ABTestConfigFile: {Data: []byte(goodRoutes)}})
	if linked != plain {
		t.Fatalf("version through symlinks %s, of the same files %s", linked, plain)
	}
}
