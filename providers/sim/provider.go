package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/careerpath/llmgateway/providers"
	// The sim kind speaks to its embedded simulator through the real
	// backends, so the zero-config gateway exercises the real wire code.
	_ "github.com/careerpath/llmgateway/providers/anthropic"
	_ "github.com/careerpath/llmgateway/providers/bedrock"
	_ "github.com/careerpath/llmgateway/providers/gemini"
	_ "github.com/careerpath/llmgateway/providers/openai"
)

// Kind is the registered kind of the in-process simulator provider.
const Kind = "sim"

// Wire formats a sim provider can speak.
const (
	WireOpenAI    = "openai"
	WireAnthropic = "anthropic"
	WireGemini    = "gemini"
	// WireBedrock puts the bedrock backend (Converse through the AWS SDK,
	// signed with placeholder keys) in front of the simulator.
	WireBedrock = "bedrock"
)

func init() {
	providers.Register(Kind, providers.FactoryOf(NewProvider))
}

// Provider is a provider backed by its own in-process simulator, listening
// on a free loopback port and reached over real HTTP by the real OpenAI or
// Anthropic backend. It is what the gateway's default configuration uses,
// so that it answers with no keys and no network.
type Provider struct {
	providers.Provider
	srv  *Server
	stop func()
	wire string
}

// ProviderOptions are the sim kind's options: the wire format plus the
// simulator's [Config] fields ("latency", "ttft", "inter_token",
// "answer_tokens", "require_api_key").
type ProviderOptions struct {
	// Wire is "openai" (the default), "anthropic" or "gemini".
	Wire string
	// Config is the simulator's behaviour.
	Config Config
}

// ParseProviderOptions decodes the sim kind's options strictly.
func ParseProviderOptions(raw json.RawMessage) (ProviderOptions, error) {
	opts := ProviderOptions{Wire: WireOpenAI}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return opts, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return opts, fmt.Errorf("sim options: %w", err)
	}
	if w, ok := fields["wire"]; ok {
		if err := json.Unmarshal(w, &opts.Wire); err != nil {
			return opts, fmt.Errorf("sim options: wire: %w", err)
		}
		delete(fields, "wire")
	}
	if opts.Wire != WireOpenAI && opts.Wire != WireAnthropic && opts.Wire != WireGemini && opts.Wire != WireBedrock {
		return opts, fmt.Errorf("sim options: wire must be %q, %q, %q or %q, not %q", WireOpenAI, WireAnthropic, WireGemini, WireBedrock, opts.Wire)
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return opts, err
	}
	if err := decodeStrict(rest, &opts.Config); err != nil {
		return opts, fmt.Errorf("sim options: %w", err)
	}
	return opts, opts.Config.Validate()
}

// NewProvider starts an embedded simulator and a client of the chosen wire
// format in front of it. Close stops the simulator.
func NewProvider(s providers.Settings) (*Provider, error) {
	opts, err := ParseProviderOptions(s.Options)
	if err != nil {
		return nil, err
	}
	if s.APIKey != "" {
		opts.Config.RequireAPIKey = s.APIKey
	}
	srv, baseURL, stop, err := Start(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("start embedded simulator: %w", err)
	}
	inner := providers.Settings{
		Name:       s.Name,
		Kind:       opts.Wire,
		APIKey:     s.APIKey,
		Headers:    s.Headers,
		Timeout:    s.Timeout,
		HTTPClient: s.HTTPClient,
		BaseURL:    baseURL,
	}
	switch opts.Wire {
	case WireOpenAI:
		inner.BaseURL = baseURL + "/v1"
	case WireGemini:
		inner.BaseURL = baseURL + "/v1beta"
	}
	if opts.Wire == WireBedrock {
		inner.Options = []byte(`{"region":"us-east-1","placeholder_credentials":true}`)
	}
	p, err := providers.New(inner)
	if err != nil {
		stop()
		return nil, err
	}
	return &Provider{Provider: p, srv: srv, stop: stop, wire: opts.Wire}, nil
}

// Simulator returns the embedded simulator, to inject faults or change its
// behaviour at run time.
func (p *Provider) Simulator() *Server { return p.srv }

// Supports reports what the client in front of the simulator honours: a
// sim provider carries exactly the features of the wire it speaks.
func (p *Provider) Supports(f providers.Feature, model string) bool {
	fs, ok := p.Provider.(providers.FeatureSupporter)
	return ok && fs.Supports(f, model)
}

// CanEmbed implements [providers.EmbedCapability]: a sim provider embeds
// when it speaks OpenAI's wire format, whose vendor has an embeddings API.
func (p *Provider) CanEmbed() bool {
	_, ok := p.Provider.(providers.Embedder)
	return ok && p.wire == WireOpenAI
}

// Embed implements [providers.Embedder] through the OpenAI client in front
// of the simulator; a sim provider of another wire refuses it.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	e, ok := p.Provider.(providers.Embedder)
	if !ok || !p.CanEmbed() {
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: p.Name(),
			Message: "the " + p.wire + " wire has no embeddings API"}
	}
	return e.Embed(ctx, req)
}

// Close stops the embedded simulator.
func (p *Provider) Close() error {
	p.stop()
	return nil
}
