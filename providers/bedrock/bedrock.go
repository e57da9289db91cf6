// Package bedrock is the [providers.Provider] for Amazon Bedrock's
// Converse and ConverseStream APIs, spoken through the AWS SDK for Go v2:
// SigV4 signing, the binary event-stream framing and the credential chain
// (environment, shared profile, web identity for Kubernetes service
// accounts, instance roles) are the SDK's.
//
// It registers the kind "bedrock". Settings.BaseURL, when set, overrides
// the Bedrock Runtime endpoint (a VPC endpoint, or the simulator);
// Settings.Options is decoded strictly into [Options] and names the
// region and, optionally, the shared-config profile. Settings.APIKey is
// not used: credentials come from the SDK's default chain. The request's
// Model is the model id or inference profile id, e.g.
// "us.anthropic.claude-sonnet-4-20250514-v1:0".
//
// The SDK's own retries are off: the gateway's resilience layer decides
// what is retried. Settings.Timeout bounds a unary attempt whole, and a
// streamed attempt until the stream is accepted.
//
// Translation (see request.go): system messages become system blocks;
// text, images (inline bytes only; URL images are refused by name), tool
// calls and tool results become content blocks with their ids kept;
// cache points become cachePoint blocks; tools become a toolConfig and
// tool choice auto/required/tool becomes auto/any/tool. Tool choice
// "none" sends no tools at all, since Converse has no such mode. A JSON
// answer (json_object or json_schema) is asked for through one forced
// tool whose input schema is the answer's; the tool input is handed back
// as the answer text, streamed too, so the caller sees plain JSON.
//
// Claude models (3.7 Sonnet to 4.x, by model or inference profile id)
// take reasoning.budget_tokens as extended thinking, sent in
// additionalModelRequestFields as {"thinking":{"type":"enabled",
// "budget_tokens":N}}; their answers' reasoningContent blocks become
// thinking parts (text with its signature, or redacted data carried
// base64-encoded), streamed as thinking deltas, and thinking parts go
// back as reasoningContent blocks exactly as received. Thinking with a
// forced tool (a JSON answer included), a temperature other than 1 or a
// top_p below 0.95 is refused, as Claude refuses it. Claude 5 models think
// adaptively and refuse a manual budget: it is refused by name, and their
// thinking parts go back like the others'. Converse reports no
// separate count of reasoning tokens: they are part of the output tokens.
// Reasoning settings and thinking parts for any other model,
// reasoning.effort and parallel_tool_calls are refused by name.
//
// Failures are [*providers.Error], classified by the exception's name:
// ThrottlingException is rate limited, ServiceUnavailableException and
// ModelNotReadyException are overloaded, ValidationException is a bad
// request (context length when its message says so), AccessDeniedException
// and UnrecognizedClientException are our credentials rejected (the
// vendor's text is never shown), ModelTimeoutException is a timeout and
// InternalServerException or ModelStreamErrorException a server error.
package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/careerpath/llmgateway/providers"
)

// Kind is the registered provider kind.
const Kind = "bedrock"

// DefaultMaxTokens is the maxTokens sent when a request sets none.
const DefaultMaxTokens = 4096

func init() {
	providers.Register(Kind, providers.FactoryOf(New))
}

// Options are the backend-specific settings in provider_settings.json
// ("options" of a bedrock provider). Unknown fields are errors.
type Options struct {
	// Region is the AWS region, e.g. "us-east-1"; empty means the SDK's
	// (AWS_REGION, the profile's).
	Region string `json:"region,omitempty"`
	// Profile is the shared-config profile to take credentials from; empty
	// means the default chain.
	Profile string `json:"profile,omitempty"`
	// DefaultMaxTokens is the maxTokens sent when a request sets none
	// (default [DefaultMaxTokens]).
	DefaultMaxTokens int `json:"default_max_tokens,omitempty"`
	// PlaceholderCredentials signs with fixed placeholder keys instead of
	// looking for real credentials: for the simulator and test endpoints
	// only, which accept any signature.
	PlaceholderCredentials bool `json:"placeholder_credentials,omitempty"`
}

// Provider talks to Bedrock Runtime. It is safe for concurrent use.
type Provider struct {
	name      string
	client    *bedrockruntime.Client
	timeout   time.Duration
	maxTokens int
}

// New builds a Provider from s. It does no network I/O: the SDK resolves
// credentials on the first call.
func New(s providers.Settings) (*Provider, error) {
	var opts Options
	if len(bytes.TrimSpace(s.Options)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(s.Options))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			return nil, fmt.Errorf("bedrock provider %q: options: %w", s.Name, err)
		}
	}
	if s.Timeout < 0 {
		return nil, fmt.Errorf("bedrock provider %q: timeout %v is negative", s.Name, s.Timeout)
	}
	if opts.DefaultMaxTokens < 0 {
		return nil, fmt.Errorf("bedrock provider %q: default_max_tokens %d is negative", s.Name, opts.DefaultMaxTokens)
	}
	var load []func(*config.LoadOptions) error
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	// The gateway's HTTP client (pooled, traced) carries the calls, unless
	// a custom CA bundle is configured: then the SDK builds its own client
	// around that bundle.
	if s.HTTPClient != nil && os.Getenv("AWS_CA_BUNDLE") == "" {
		load = append(load, config.WithHTTPClient(s.HTTPClient))
	}
	if opts.PlaceholderCredentials {
		load = append(load, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDPLACEHOLDER", "placeholder", "")))
	}
	load = append(load, config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	cfg, err := config.LoadDefaultConfig(context.Background(), load...)
	if err != nil {
		return nil, fmt.Errorf("bedrock provider %q: %w", s.Name, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("bedrock provider %q: no region (set options.region or AWS_REGION)", s.Name)
	}
	if cfg.HTTPClient != nil {
		cfg.HTTPClient = ownBodyClient{next: cfg.HTTPClient}
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		if s.BaseURL != "" {
			o.BaseEndpoint = aws.String(s.BaseURL)
		}
	})
	maxTokens := opts.DefaultMaxTokens
	if maxTokens == 0 {
		maxTokens = DefaultMaxTokens
	}
	return &Provider{name: s.Name, client: client, timeout: s.Timeout, maxTokens: maxTokens}, nil
}

// Name is the provider instance name.
func (p *Provider) Name() string { return p.name }

// Supports reports the features Converse honours for model: those of
// every model, thinking parts for the Claude models that think, and a
// thinking budget for those of them before Claude 5.
func (p *Provider) Supports(f providers.Feature, model string) bool {
	switch f {
	case providers.FeatureTools, providers.FeatureToolChoice, providers.FeatureJSONObject,
		providers.FeatureJSONSchema, providers.FeatureParts, providers.FeatureImages,
		providers.FeatureToolCalls, providers.FeatureToolResults, providers.FeaturePromptCache:
		return true
	case providers.FeatureReasoningBudget:
		return takesBudget(model)
	case providers.FeatureThinking:
		return thinks(model)
	}
	return false
}

// Complete sends one Converse request.
func (p *Provider) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	in, err := p.converseInput(req)
	if err != nil {
		return nil, err
	}
	actx, cancel := p.attempt(ctx)
	defer cancel()
	out, err := p.client.Converse(actx, in)
	if err != nil {
		return nil, p.classify(ctx, err)
	}
	return p.response(req, out)
}

// attempt bounds one attempt by the configured timeout.
func (p *Provider) attempt(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.timeout > 0 {
		return context.WithTimeout(ctx, p.timeout)
	}
	return context.WithCancel(ctx)
}

var (
	_ providers.Provider         = (*Provider)(nil)
	_ providers.FeatureSupporter = (*Provider)(nil)
)
