// Package config loads and validates the gateway's JSON configuration: the
// operators' provider_settings.json (providers, models and prices) and
// ab_test_config.json (routes and their variants).
//
// Decoding is strict (unknown fields are errors) and every error names the
// file, the JSON path and the reason, so that a bad file is refused with a
// message an operator can act on. A [Config] is plain data: building
// providers and routing tables from it is the caller's job.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/careerpath/llmgateway/internal/strictjson"
	"github.com/careerpath/llmgateway/providers"
)

// File names inside a config directory, as the operators know them.
const (
	ProviderSettingsFile = "provider_settings.json"
	ABTestConfigFile     = "ab_test_config.json"
)

// Config is one complete, validated configuration.
type Config struct {
	Providers  ProviderSettings
	Routes     ABTestConfig
	RateLimits RateLimits
	// Clients is clients.json: API keys and what each client may do; nil
	// when the file is absent (authentication off).
	Clients *Clients
	// Version is the content hash of the files the configuration came
	// from (see [Version]).
	Version string
}

// ProviderSettings is provider_settings.json.
type ProviderSettings struct {
	// Providers by instance name (e.g. "openai", "anthropic_backup").
	Providers map[string]Provider `json:"providers"`
	// Models each provider may serve, with their prices.
	Models []Model `json:"models"`
}

// Provider configures one provider instance.
type Provider struct {
	// Kind is the registered backend kind: "openai", "anthropic",
	// "openai-compatible", "bedrock", "sim".
	Kind string `json:"kind"`
	// BaseURL overrides the vendor's API root.
	BaseURL string `json:"base_url,omitempty"`
	// APIKeyEnv names the environment variable holding the API key. The key
	// itself never appears in configuration.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// APIKeyFile names a file holding the API key (e.g. a mounted secret).
	APIKeyFile string `json:"api_key_file,omitempty"`
	// Timeout bounds one attempt, e.g. "30s".
	Timeout Duration `json:"timeout,omitempty"`
	// Headers are extra HTTP headers sent with every request.
	Headers map[string]string `json:"headers,omitempty"`
	// Options are backend-specific settings, decoded by the backend.
	Options json.RawMessage `json:"options,omitempty"`
	// Retry configures retries of failed attempts on this provider.
	Retry *Retry `json:"retry,omitempty"`
	// CircuitBreaker configures the breaker shared by every route that uses
	// this provider.
	CircuitBreaker *CircuitBreaker `json:"circuit_breaker,omitempty"`
	// MaxConcurrency caps calls (and open streams) in flight to this
	// provider; 0 means no cap.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// MaxQueueWait is how long a call may wait for a free slot when
	// MaxConcurrency is reached before failing over; 0 fails over at once.
	MaxQueueWait Duration `json:"max_queue_wait,omitempty"`
	// Hedge, when set, sends a second attempt to the route's first backup
	// if this provider has not answered a unary call after a delay.
	Hedge *Hedge `json:"hedge,omitempty"`
	// Stream configures how streams from this provider are watched.
	Stream *StreamTimeouts `json:"stream,omitempty"`
}

// Retry configures retries with exponential backoff and jitter. Only
// retryable failures (429, 5xx, 529, connection failures, attempt
// timeouts) are retried; a Retry-After that does not fit in the caller's
// deadline fails over at once instead.
type Retry struct {
	// MaxAttempts is the total number of attempts, first included
	// (default 3; 1 disables retries).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// InitialBackoff is the delay before the first retry (default 200ms);
	// it doubles for each further retry up to MaxBackoff (default 5s).
	InitialBackoff Duration `json:"initial_backoff,omitempty"`
	MaxBackoff     Duration `json:"max_backoff,omitempty"`
	// MaxRetryAfter caps how long a retry waits for a provider's
	// Retry-After (default: MaxBackoff). A longer Retry-After is not
	// waited for: the chain moves on at once, and the provider stays
	// cooled down for the time it asked for.
	MaxRetryAfter Duration `json:"max_retry_after,omitempty"`
	// Jitter is the random fraction added to or taken from each delay
	// (default 0.2).
	Jitter float64 `json:"jitter,omitempty"`
}

// CircuitBreaker configures a failure-rate circuit breaker: it opens when,
// within Window, at least MinRequests calls were made and FailureRate of
// them failed; after OpenFor it lets HalfOpenProbes calls through and
// closes if they all succeed.
type CircuitBreaker struct {
	FailureRate    float64  `json:"failure_rate,omitempty"`     // default 0.5
	MinRequests    int      `json:"min_requests,omitempty"`     // default 10
	Window         Duration `json:"window,omitempty"`           // default 30s
	OpenFor        Duration `json:"open_for,omitempty"`         // default 15s
	HalfOpenProbes int      `json:"half_open_probes,omitempty"` // default 3
}

// Hedge configures hedged requests: a second attempt to the backup after
// Delay, or after the provider's observed Quantile latency (e.g. 0.95).
// Set exactly one.
type Hedge struct {
	Delay    Duration `json:"delay,omitempty"`
	Quantile float64  `json:"quantile,omitempty"`
}

// StreamTimeouts bound a stream's pace.
type StreamTimeouts struct {
	// FirstToken bounds the wait for the first content token (default:
	// the provider's timeout, else 30s).
	FirstToken Duration `json:"first_token_timeout,omitempty"`
	// Idle bounds the wait between two tokens (default 30s).
	Idle Duration `json:"idle_timeout,omitempty"`
}

// Model is one model of one provider and its price.
type Model struct {
	// Name is the model name as the provider knows it.
	Name string `json:"name"`
	// Provider is the provider instance serving it.
	Provider string `json:"provider"`
	// ContextWindow is the model's context size in tokens.
	ContextWindow int `json:"context_window"`
	// Price is what the provider charges.
	Price Price `json:"price"`
	// Embedding marks an embedding model: it answers the Embed RPC and
	// POST /v1/embeddings, priced by input_per_mtok, and no chat
	// completions. Its provider must have an embeddings API (kinds openai
	// and openai-compatible, or sim speaking the openai wire), and a route
	// uses embedding models only or none.
	Embedding bool `json:"embedding,omitempty"`
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	InputPerMTok           float64 `json:"input_per_mtok"`
	OutputPerMTok          float64 `json:"output_per_mtok"`
	CachedInputPerMTok     float64 `json:"cached_input_per_mtok,omitempty"`
	CacheWriteInputPerMTok float64 `json:"cache_write_input_per_mtok,omitempty"`
}

// MaxRouteTimeout is the longest timeout a route may set.
const MaxRouteTimeout = time.Hour

// ABTestConfig is ab_test_config.json.
type ABTestConfig struct {
	// Routes by name (e.g. "career_advice").
	Routes map[string]Route `json:"routes"`
	// Datasets are the enrichment datasets routes may join into their
	// prompt templates, by name (e.g. "job_market"). They are loaded from
	// the configuration directory together with this file; see [Dataset].
	Datasets map[string]Dataset `json:"datasets,omitempty"`
}

// Route is what a caller asks for by name: one or more variants, the
// weights that split traffic between them, and what to do when they fail.
type Route struct {
	// Description says what the route is for.
	Description string `json:"description,omitempty"`
	// Variants are the ways of answering; at least one.
	Variants []Variant `json:"variants"`
	// Backups are tried in order when the selected variant fails.
	Backups []Target `json:"backups,omitempty"`
	// DegradedAnswer is served, marked as degraded, when everything failed.
	DegradedAnswer string `json:"degraded_answer,omitempty"`
	// Timeout bounds the failover chain of a request to the route (until
	// its answer, or a stream's first token) when the caller's own
	// deadline is later or absent; at most [MaxRouteTimeout]. Default:
	// what the timeouts and retries of the route's providers (primary and
	// backups) allow, see resilience.DefaultRouteTimeout.
	Timeout Duration `json:"timeout,omitempty"`
	// Experiment identifies the A/B experiment that splits the route's
	// traffic between its variants; without it the experiment id is the
	// route name and the salt is empty.
	Experiment *Experiment `json:"experiment,omitempty"`
	// Enrichment, when set, looks up one record of a dataset for every
	// request and gives it to the variants' prompt templates.
	Enrichment *Enrichment `json:"enrichment,omitempty"`
	// Cache tunes the answer cache for the route.
	Cache *RouteCache `json:"cache,omitempty"`
	// BudgetFallbackVariant, when set, names the (cheaper) variant that
	// serves the route once a USD budget that applies to it is exhausted,
	// instead of refusing the request.
	BudgetFallbackVariant string `json:"budget_fallback_variant,omitempty"`
	// OnSchemaMismatch says what an answer that does not satisfy the
	// request's JSON Schema (or a tool call whose arguments do not satisfy
	// its tool's) does: "retry" (the default: a failed attempt, retried
	// under the provider's retry policy, then failed over), "fail_over"
	// (straight to the next provider of the chain) or "pass" (returned as
	// it is, marked unchecked).
	OnSchemaMismatch string `json:"on_schema_mismatch,omitempty"`
}

// Values of [Route.OnSchemaMismatch].
const (
	OnSchemaMismatchRetry    = "retry"
	OnSchemaMismatchFailOver = "fail_over"
	OnSchemaMismatchPass     = "pass"
)

// SchemaMismatch is the route's on_schema_mismatch, "retry" when unset.
func (r Route) SchemaMismatch() string {
	if r.OnSchemaMismatch == "" {
		return OnSchemaMismatchRetry
	}
	return r.OnSchemaMismatch
}

// RouteCache tunes the answer cache for one route. Requests with
// temperature 0 are cached unless Disabled; others only when Always is set
// (or the caller asks for a TTL).
type RouteCache struct {
	// TTL is how long an answer is served as a cache hit (default 10m).
	TTL Duration `json:"ttl,omitempty"`
	// MaxStale is how long past its TTL an answer is kept for the failover
	// chain's stale-if-error step (default 24h).
	MaxStale Duration `json:"max_stale,omitempty"`
	// Always caches answers whatever their temperature.
	Always bool `json:"always,omitempty"`
	// Disabled never caches the route's answers.
	Disabled bool `json:"disabled,omitempty"`
}

// Experiment identifies a route's A/B experiment. Sticky assignment hashes
// the experiment id and salt with the caller's subject, so a new salt (or
// id) reshuffles every subject while a weight change moves as few as it
// must; see package routing.
type Experiment struct {
	// ID names the experiment in assignment, metrics and reports, e.g.
	// "career_advice_2026_11"; unique across routes (default: the route
	// name).
	ID string `json:"id,omitempty"`
	// Salt is mixed into the assignment hash; change it to reshuffle.
	Salt string `json:"salt,omitempty"`
	// Control names the variant the others are compared against
	// (default: the first variant).
	Control string `json:"control,omitempty"`
}

// Enrichment joins one record of a dataset into a route's prompt
// templates, found by key values taken from the request.
type Enrichment struct {
	// Dataset names an entry of the file's top-level "datasets".
	Dataset string `json:"dataset"`
	// Key names, in the order of the dataset's own key fields, the request
	// variables or caller tags (variables first) holding the key values
	// (default: the dataset's key field names).
	Key []string `json:"key,omitempty"`
	// OnMissing says what a request without a matching record gets:
	// "skip" (the default: templates see an empty record) or "fail".
	OnMissing string `json:"on_missing,omitempty"`
}

// Values of [Enrichment.OnMissing].
const (
	OnMissingSkip = "skip"
	OnMissingFail = "fail"
)

// Target names a provider instance and one of its models.
type Target struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// Variant is one way of answering a route.
type Variant struct {
	// Name identifies the variant in responses, metrics and experiments.
	Name string `json:"name"`
	Target
	// Weight is the variant's share of traffic relative to the others.
	Weight int `json:"weight"`
	// SystemPrompt, when set, is sent as the first system message.
	SystemPrompt string `json:"system_prompt,omitempty"`
	// SystemTemplate is a Go text/template rendered into the system
	// message (after SystemPrompt and a blank line when both are set).
	// It sees the request's variables as .Vars and the route's
	// enrichment record as .Record; see [ParsePromptTemplate].
	SystemTemplate string `json:"system_template,omitempty"`
	// UserTemplate is a Go text/template rendered into a user message sent
	// before the caller's own messages.
	UserTemplate string `json:"user_template,omitempty"`
	// Params are the variant's generation defaults.
	Params Params `json:"params,omitempty"`
}

// Params are generation defaults; unset fields defer to the caller or the
// provider.
type Params struct {
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("30s", "1m30s").
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration string such as "30s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// Error is one problem in one file.
type Error struct {
	// File is the file name, e.g. "provider_settings.json".
	File string
	// Path is the JSON path of the offending value, e.g.
	// "$.providers.openai.kind".
	Path string
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.File + ": " + e.Reason
	}
	return e.File + ": " + e.Path + ": " + e.Reason
}

// Errors is every problem found in a configuration.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Load reads and validates the configuration in dir.
func Load(dir string) (*Config, error) {
	return LoadFS(os.DirFS(dir))
}

// LoadFS reads and validates the configuration in fsys.
func LoadFS(fsys fs.FS) (*Config, error) {
	var cfg Config
	var errs Errors
	if err := decodeFile(fsys, ProviderSettingsFile, &cfg.Providers); err != nil {
		errs = append(errs, err)
	}
	if err := decodeFile(fsys, ABTestConfigFile, &cfg.Routes); err != nil {
		errs = append(errs, err)
	}
	if _, err := fs.Stat(fsys, RateLimitsFile); err == nil {
		if err := decodeFile(fsys, RateLimitsFile, &cfg.RateLimits); err != nil {
			errs = append(errs, err)
		}
	}
	clients, err := LoadClients(fsys)
	if err != nil {
		var ce Errors
		if !errors.As(err, &ce) {
			ce = Errors{{File: ClientsFile, Reason: err.Error()}}
		}
		errs = append(errs, ce...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	cfg.Clients = clients
	version, err := Version(fsys)
	if err != nil {
		return nil, Errors{{File: ".", Reason: "cannot read the configuration directory: " + err.Error()}}
	}
	cfg.Version = version
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// decodeFile strictly decodes one JSON file into v. When v also reads
// companion files from the same directory (ab_test_config.json's
// datasets), they are loaded too, so that they are part of every load and
// reload of the file.
func decodeFile(fsys fs.FS, name string, v any) *Error {
	data, err := fs.ReadFile(fsys, filepath.ToSlash(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &Error{File: name, Reason: "file not found"}
		}
		return &Error{File: name, Reason: err.Error()}
	}
	if err := decode(name, data, v); err != nil {
		return err
	}
	if c, ok := v.(companionLoader); ok {
		return c.loadCompanions(fsys)
	}
	return nil
}

func decode(name string, data []byte, v any) *Error {
	err := strictjson.Decode(data, v)
	switch {
	case errors.Is(err, strictjson.ErrTrailingData):
		return &Error{File: name, Reason: "unexpected data after the top-level JSON object"}
	case err != nil:
		return jsonError(name, data, err)
	}
	return nil
}

// jsonError turns an encoding/json error into an [*Error] with a JSON path
// and, for syntax errors, a line number.
func jsonError(name string, data []byte, err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte{'\n'})
		return &Error{File: name, Reason: fmt.Sprintf("invalid JSON at line %d: %v", line, syn)}
	case errors.As(err, &typ):
		// encoding/json's field path leaves out map keys and indexes, so
		// the line number locates the value.
		line := 1 + bytes.Count(data[:min(int(typ.Offset), len(data))], []byte{'\n'})
		return &Error{File: name, Path: "$." + typ.Field,
			Reason: fmt.Sprintf("must be %s, not %s (line %d)", typ.Type, typ.Value, line)}
	}
	msg := err.Error()
	if field, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &Error{File: name, Reason: "unknown field " + field}
	}
	// Errors from our own UnmarshalJSON methods carry no path; encoding/json
	// does not give one. Report the message as it is.
	return &Error{File: name, Reason: strings.TrimPrefix(msg, "json: ")}
}

// ModelFor returns the model named name served by provider.
func (c *Config) ModelFor(provider, name string) (Model, bool) {
	i := slices.IndexFunc(c.Providers.Models, func(m Model) bool {
		return m.Provider == provider && m.Name == name
	})
	if i < 0 {
		return Model{}, false
	}
	return c.Providers.Models[i], true
}

// Cost is the price in US dollars of an answer with usage u:
// [Price.CostNanos] as dollars, so that it carries no binary-float tail
// beyond the nearest double to that exact amount (12150 nano-dollars are
// 1.215e-05, never 1.2149999999999999e-05).
func (p Price) Cost(u providers.Usage) float64 {
	return float64(p.CostNanos(u)) / NanosPerUSD
}

// NanosPerUSD is one US dollar in nano-dollars, the unit money is exact in.
const NanosPerUSD = 1_000_000_000

// CostNanos is the price of an answer with usage u in nano-dollars,
// computed exactly and rounded (half up) to the nearest nano-dollar once.
// Cached and cache-write input tokens are billed at their own prices when
// configured, else at the input price. Reasoning tokens are part of the
// output tokens and billed as output. Each price per million tokens
// counts to the nano-dollar (nine decimals), as prices are quoted.
func (p Price) CostNanos(u providers.Usage) int64 {
	cached, written := u.CachedInputTokens, u.CacheCreationInputTokens
	plain := max(u.InputTokens-cached-written, 0)
	cachedPrice, writePrice := p.CachedInputPerMTok, p.CacheWriteInputPerMTok
	if cachedPrice == 0 {
		cachedPrice = p.InputPerMTok
	}
	if writePrice == 0 {
		writePrice = p.InputPerMTok
	}
	// tokens × nano-dollars per million tokens / 10⁶, split so that no
	// product overflows: whole nano-dollars, and millionths of one.
	var whole, millionths int64
	for _, c := range [...]struct {
		tokens int64
		perM   float64
	}{
		{plain, p.InputPerMTok}, {cached, cachedPrice},
		{written, writePrice}, {u.OutputTokens, p.OutputPerMTok},
	} {
		if c.tokens <= 0 || !(c.perM > 0) {
			continue
		}
		n := int64(math.Round(c.perM * NanosPerUSD))
		whole += c.tokens * (n / 1_000_000)
		millionths += c.tokens * (n % 1_000_000)
	}
	return whole + (millionths+500_000)/1_000_000
}
