// Package gemini is the [providers.Provider] for Google's Gemini API:
// POST {base}/models/{model}:generateContent, and
// :streamGenerateContent?alt=sse for streams.
//
// It registers the kind "gemini". Settings.BaseURL is the API root with
// its version, as in Google's SDKs; it defaults to [DefaultBaseURL]. A
// Vertex AI endpoint works too: set base_url to
// https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/google
// and the option "auth" to "bearer", and the key (an OAuth access token)
// is sent as Authorization: Bearer instead of x-goog-api-key.
//
// Translation from the provider-neutral request:
//
//   - System messages are hoisted into systemInstruction.
//   - Assistant turns are role "model"; tool results go in a user turn as
//     functionResponse parts; consecutive turns of one role are merged.
//   - Tools become functionDeclarations with parametersJsonSchema (the
//     full JSON Schema, as given); tool choice becomes
//     toolConfig.functionCallingConfig (AUTO, ANY, NONE, ANY with
//     allowedFunctionNames for one named tool).
//   - A JSON answer sets responseMimeType application/json, and a schema
//     goes in responseJsonSchema; the gateway checks the answer against it.
//   - A reasoning budget becomes thinkingConfig.thinkingBudget.
//   - Images go inline (inlineData); an image by https URL is refused by
//     name, as the API only fetches its own file URIs.
//   - Gemini may return function calls without ids: the backend gives
//     each a deterministic id (see [SyntheticIDPrefix]) and leaves it out
//     again when the call and its result go back to the API.
//   - Thought signatures are kept as thinking parts with a signature and
//     sent back on the part they came with.
//
// Usage: promptTokenCount is the whole prompt (cachedContentTokenCount is
// part of it); output is candidatesTokenCount plus thoughtsTokenCount, the
// latter also counted as reasoning tokens.
//
// Failures are [*providers.Error], kinded by HTTP status and refined by the
// google.rpc status body: the retry delay of RetryInfo, API_KEY_INVALID
// behind a 400 as [providers.KindAuth], a prompt over the context window
// as [providers.KindContextLength], field violations quoted in the
// message. A stream that ends without a finishReason is
// [providers.KindTruncated].
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// Kind is the registered provider kind.
const Kind = "gemini"

// DefaultBaseURL is the Gemini API root, with its version.
const DefaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"

// Auth modes of [Options].
const (
	AuthAPIKey = "api_key"
	AuthBearer = "bearer"
)

const (
	maxResponseBytes = 16 << 20
	maxErrorBytes    = 64 << 10
)

func init() {
	providers.Register(Kind, providers.FactoryOf(New))
}

// Options are the backend-specific settings ("options" of a gemini
// provider). Unknown fields are errors.
type Options struct {
	// Auth is how the key is sent: "api_key" (x-goog-api-key, the
	// default) or "bearer" (Authorization: Bearer, for Vertex AI).
	Auth string `json:"auth,omitempty"`
}

// Provider talks to the Gemini API. It is safe for concurrent use.
type Provider struct {
	name    string
	base    string
	client  *http.Client
	header  http.Header
	text    providers.Redactor // keeps the key out of upstream text
	timeout time.Duration
}

// New builds a Provider from s. It does no network I/O.
func New(s providers.Settings) (*Provider, error) {
	var opts Options
	if t := bytes.TrimSpace(s.Options); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			return nil, fmt.Errorf("gemini provider %q: options: %w", s.Name, err)
		}
	}
	switch opts.Auth {
	case "", AuthAPIKey, AuthBearer:
	default:
		return nil, fmt.Errorf("gemini provider %q: options: auth %q is not %q or %q", s.Name, opts.Auth, AuthAPIKey, AuthBearer)
	}
	hs, err := s.HTTP(Kind, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	h := hs.Header
	h.Set("Content-Type", "application/json")
	if s.APIKey != "" {
		if opts.Auth == AuthBearer {
			h.Set("Authorization", "Bearer "+s.APIKey)
		} else {
			h.Set("X-Goog-Api-Key", s.APIKey)
		}
	}
	return &Provider{
		name:    s.Name,
		base:    hs.Base,
		client:  hs.Client,
		header:  h,
		text:    providers.Redactor{Key: s.APIKey, KeyPrefix: keyPrefix},
		timeout: s.Timeout,
	}, nil
}

// Name is the provider instance name.
func (p *Provider) Name() string { return p.name }

// Supports reports the features the backend honours, for every model.
func (p *Provider) Supports(f providers.Feature, _ string) bool {
	switch f {
	case providers.FeatureTools, providers.FeatureToolChoice, providers.FeatureJSONObject,
		providers.FeatureJSONSchema, providers.FeatureReasoningBudget, providers.FeatureParts,
		providers.FeatureImages, providers.FeatureToolCalls, providers.FeatureToolResults,
		providers.FeatureThinking:
		return true
	}
	// No switch for parallel calls, no effort levels on 2.5 models, and
	// caching is by cachedContent resources, not breakpoints.
	return false
}

// endpoint is the URL of a call on model.
func (p *Provider) endpoint(model string, stream bool) string {
	m := url.PathEscape(model)
	if stream {
		return p.base + "/models/" + m + ":streamGenerateContent?alt=sse"
	}
	return p.base + "/models/" + m + ":generateContent"
}

// Complete sends req and waits for the whole answer.
func (p *Provider) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	body, err := p.encode(req)
	if err != nil {
		return nil, err
	}
	actx, cancel := providers.AttemptContext(ctx, p.timeout)
	defer cancel()
	resp, err := p.send(actx, p.endpoint(req.Model, false), body)
	if err != nil {
		return nil, providers.AttemptError(ctx, actx, p.name, err)
	}
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(ctx, actx, resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, providers.AttemptError(ctx, actx, p.name, err)
	}
	if len(b) > maxResponseBytes {
		return nil, providers.Errorf(providers.KindMalformed, p.name, "response body exceeds %d bytes", maxResponseBytes)
	}
	return p.parseResponse(b)
}

// Stream sends req to :streamGenerateContent?alt=sse. Settings.Timeout
// bounds the attempt until the response headers arrive.
func (p *Provider) Stream(ctx context.Context, req *providers.Request) (providers.Stream, error) {
	body, err := p.encode(req)
	if err != nil {
		return nil, err
	}
	s, err := providers.EventStreamCall{
		Provider: p.name,
		Timeout:  p.timeout,
		Send: func(actx context.Context) (*http.Response, error) {
			return p.send(actx, p.endpoint(req.Model, true), body)
		},
		StatusError:    p.statusError,
		UnexpectedBody: p.unexpectedBody,
	}.Open(ctx, func(body io.Reader) func() (providers.Chunk, error) { return newParser(body, p).next })
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (p *Provider) send(ctx context.Context, endpoint string, body []byte) (*http.Response, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header = p.header.Clone()
	return p.client.Do(hreq)
}

func closeBody(resp *http.Response) { _ = resp.Body.Close() }

var errNoCandidates = errors.New("response without candidates or prompt feedback")

var (
	_ providers.Provider         = (*Provider)(nil)
	_ providers.FeatureSupporter = (*Provider)(nil)
)
