// Package openai is the OpenAI Chat Completions backend. It registers two
// kinds: "openai" for api.openai.com and "openai-compatible" for hosts that
// speak the same wire format (vLLM, Ollama, Azure OpenAI and similar).
//
// The backend translates a [providers.Request] into a POST to
// BaseURL + "/chat/completions", parses the chat.completion object or the
// chat.completion.chunk event stream, and maps every failure to a typed
// [*providers.Error]. Base URLs follow OpenAI's SDKs: they include the /v1
// path (or Azure's /openai/deployments/{name} path).
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/careerpath/llmgateway/internal/strictjson"
	"github.com/careerpath/llmgateway/providers"
)

// The kinds this package registers.
const (
	// KindOpenAI is OpenAI's own API.
	KindOpenAI = "openai"
	// KindCompatible is any host speaking the Chat Completions wire format.
	// It requires a base URL.
	KindCompatible = "openai-compatible"
)

// DefaultBaseURL is the API root used by [KindOpenAI] when no base URL is
// configured.
const DefaultBaseURL = "https://api.openai.com/v1"

// The values of [Options.AuthHeader].
const (
	// AuthHeaderAuthorization sends "Authorization: Bearer <key>" (OpenAI,
	// vLLM, most compatible hosts). It is the default.
	AuthHeaderAuthorization = "authorization"
	// AuthHeaderAPIKey sends "api-key: <key>" as Azure OpenAI expects.
	AuthHeaderAPIKey = "api-key"
)

// Size limits on response bodies.
const (
	maxResponseBytes = 8 << 20  // a unary chat.completion
	maxErrorBytes    = 64 << 10 // an error body
)

func init() {
	providers.Register(KindOpenAI, providers.FactoryOf(New))
	providers.Register(KindCompatible, providers.FactoryOf(NewCompatible))
}

// Options are the backend-specific settings, decoded strictly from
// [providers.Settings.Options].
type Options struct {
	// AuthHeader selects how the API key is sent: [AuthHeaderAuthorization]
	// (the default) or [AuthHeaderAPIKey].
	AuthHeader string `json:"auth_header"`
	// Query holds parameters added to every request URL, such as Azure's
	// api-version. They override parameters of the same name in the base
	// URL.
	Query map[string]string `json:"query"`
}

// Provider is a configured OpenAI or OpenAI-compatible backend. It is safe
// for concurrent use.
type Provider struct {
	name     string
	endpoint string // BaseURL + "/chat/completions" + query
	embedURL string // BaseURL + "/embeddings" + query
	client   *http.Client
	headers  []header // canonical names, sent with every request
	timeout  time.Duration
	// maxTokens is the wire name of the answer-length cap:
	// max_completion_tokens for OpenAI, max_tokens for compatible hosts.
	maxTokens string
	// autoCache says the host caches prompt prefixes by itself, so that
	// a prompt-cache point is honoured without being sent (OpenAI does).
	autoCache bool
	// key is kept only to scrub it from error text.
	key string
}

// header is one precomputed request header. values has len == cap so that
// an append by a later RoundTripper never writes into the shared array.
type header struct {
	name   string
	values []string
}

// New builds a provider of kind [KindOpenAI] from s. An empty s.BaseURL
// means [DefaultBaseURL]. The answer-length cap is sent as
// max_completion_tokens.
func New(s providers.Settings) (*Provider, error) {
	if s.BaseURL == "" {
		s.BaseURL = DefaultBaseURL
	}
	p, err := newProvider(s, "max_completion_tokens")
	if err != nil {
		return nil, err
	}
	p.autoCache = true
	return p, nil
}

// NewCompatible builds a provider of kind [KindCompatible] from s, which
// must name a base URL. The answer-length cap is sent as max_tokens, the
// field vLLM, Ollama and Azure understand.
func NewCompatible(s providers.Settings) (*Provider, error) {
	if strings.TrimSpace(s.BaseURL) == "" {
		return nil, fmt.Errorf("provider %q (kind %s): base_url is required", s.Name, KindCompatible)
	}
	return newProvider(s, "max_tokens")
}

func newProvider(s providers.Settings, maxTokens string) (*Provider, error) {
	opts, err := decodeOptions(s.Options)
	if err != nil {
		return nil, fmt.Errorf("provider %q: options: %w", s.Name, err)
	}
	endpoint, err := buildEndpoint(s.BaseURL, opts.Query)
	if err != nil {
		return nil, fmt.Errorf("provider %q: base_url: %w", s.Name, err)
	}
	embedEndpoint, err := buildPathEndpoint(s.BaseURL, "/embeddings", opts.Query)
	if err != nil {
		return nil, fmt.Errorf("provider %q: base_url: %w", s.Name, err)
	}
	if s.Timeout < 0 {
		return nil, fmt.Errorf("provider %q: timeout must not be negative", s.Name)
	}
	p := &Provider{
		name:      s.Name,
		endpoint:  endpoint,
		embedURL:  embedEndpoint,
		client:    s.HTTPClient,
		timeout:   s.Timeout,
		maxTokens: maxTokens,
		key:       s.APIKey,
	}
	if p.client == nil {
		p.client = providers.DefaultHTTPClient()
	}
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		value := s.Headers[name]
		if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("provider %q: headers: invalid header %q", s.Name, name)
		}
		p.headers = append(p.headers, header{http.CanonicalHeaderKey(name), []string{value}})
	}
	if s.APIKey != "" {
		if !httpguts.ValidHeaderFieldValue(s.APIKey) {
			// Never echo the key itself.
			return nil, fmt.Errorf("provider %q: api key contains invalid characters", s.Name)
		}
		switch opts.AuthHeader {
		case "", AuthHeaderAuthorization:
			p.headers = append(p.headers, header{"Authorization", []string{"Bearer " + s.APIKey}})
		case AuthHeaderAPIKey:
			p.headers = append(p.headers, header{"Api-Key", []string{s.APIKey}})
		}
	}
	return p, nil
}

func decodeOptions(raw json.RawMessage) (Options, error) {
	var o Options
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return o, nil
	}
	err := strictjson.Decode(raw, &o)
	if errors.Is(err, strictjson.ErrTrailingData) {
		err = errors.New("unexpected data after the options object")
	}
	if err != nil {
		return o, err
	}
	switch o.AuthHeader {
	case "", AuthHeaderAuthorization, AuthHeaderAPIKey:
	default:
		return o, fmt.Errorf("auth_header: %q is not %q or %q", o.AuthHeader, AuthHeaderAuthorization, AuthHeaderAPIKey)
	}
	return o, nil
}

// buildEndpoint appends /chat/completions to base (after trimming trailing
// slashes) and merges query into its query string.
func buildEndpoint(base string, query map[string]string) (string, error) {
	return buildPathEndpoint(base, "/chat/completions", query)
}

// buildPathEndpoint appends path to base (after trimming trailing slashes)
// and merges query into its query string.
func buildPathEndpoint(base, path string, query map[string]string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("missing host")
	}
	if u.User != nil {
		return "", errors.New("credentials in the URL are not allowed; use the api key setting")
	}
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	if len(query) > 0 {
		q := u.Query()
		for k, v := range query {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

var _ providers.Provider = (*Provider)(nil)
