// Package anthropic is the [providers.Provider] for Anthropic's Messages API
// (POST /v1/messages), unary and streaming.
//
// It registers the kind "anthropic". Settings.BaseURL is the API root
// without the /v1 path, as in Anthropic's own SDKs; it defaults to
// [DefaultBaseURL]. Settings.Options is decoded strictly into [Options].
// Every request carries x-api-key (when Settings.APIKey is set),
// anthropic-version and content-type, which take precedence over
// Settings.Headers (use them for anthropic-beta and the like).
//
// Settings.Timeout bounds a unary attempt from sending to the last byte of
// the answer, and a streamed attempt only until its response headers
// arrive. When it fires while the caller's context is alive the error is
// [providers.KindTimeout]; when the caller gives up it is
// [providers.KindCanceled].
//
// Translation from the provider-neutral request:
//
//   - System messages, wherever they appear, are hoisted into the top-level
//     "system" string, joined with a blank line.
//   - The remaining turns must start with a user turn and, in a text-only
//     request, are sent as string content; consecutive turns of the same role are merged with a
//     blank line because the API requires strict alternation. Empty turns
//     are dropped.
//   - max_tokens is required by the API: a request without one gets
//     Options.DefaultMaxTokens.
//   - Temperature must lie in 0..1 (Anthropic's range, not OpenAI's 0..2) and
//     top_p in 0..1; violations are [providers.KindBadRequest] errors raised
//     before any network call.
//   - Stop becomes stop_sequences, User becomes metadata.user_id.
//   - Seed is ignored: the Messages API has no deterministic sampling.
//
// Rich requests (message parts, tools, response formats, reasoning, cache
// points) are sent as content blocks:
//
//   - Text, image (base64 source; a data: URL is decoded into one, any
//     other URL is a url source), tool_use, tool_result, thinking (with its
//     signature) and redacted_thinking blocks, each as received. Tool
//     results (role tool) go back in a user turn; consecutive ones merge
//     into one message, so the calls of one assistant turn are answered
//     together. Call ids are passed through unchanged.
//   - A cache point on a part or message becomes cache_control
//     {"type":"ephemeral"} on its (last) block, with ttl "5m" up to five
//     minutes and "1h" above; a cache point on a system message sends the
//     system prompt as text blocks.
//   - Tools become tools with input_schema; tool choice auto, required,
//     tool and none become auto, any, tool and none; parallel tool calls
//     off sets disable_parallel_tool_use.
//   - reasoning.budget_tokens enables extended thinking; reasoning.effort
//     is refused by name (see [Provider.Supports]).
//   - A JSON-schema answer uses output_config.format on the models that
//     take it (see [Options].StructuredOutput), otherwise a forced tool
//     named [JSONAnswerTool] whose input is unwrapped into the answer text,
//     streamed too; a JSON-object answer always uses the forced tool. The
//     forced tool cannot be combined with the caller's tools or with
//     thinking: such requests are refused before any network call.
//
// Answers carry their parts in order (text, tool calls, thinking with its
// signature, redacted thinking); stop_reason tool_use is
// [providers.FinishToolCalls]. Streams emit tool-call deltas numbered by
// call (content_block_start with the id and name, then input_json_delta
// fragments) and thinking deltas (thinking_delta, signature_delta).
//
// Usage is normalised as [providers.Usage] requires: Anthropic's
// input_tokens excludes cached tokens, so InputTokens is input_tokens +
// cache_creation_input_tokens + cache_read_input_tokens. In a stream every
// usage value is cumulative: the last one seen wins, none is summed.
//
// Failures are [*providers.Error]. The HTTP status decides the kind
// ([providers.StatusKind]), refined by Anthropic's error body: a 400 saying
// the prompt is too long is [providers.KindContextLength], an
// overloaded_error behind a 5xx is [providers.KindOverloaded]. A body that
// is not JSON (an HTML page from a proxy) makes the error
// [providers.KindMalformed], except for statuses whose meaning stands on its
// own (401/403, 408/504, 413, 429, 503/529). Errors of kind
// [providers.KindAuth] never carry Anthropic's text, and the API key (or
// anything shaped like an Anthropic key) is redacted from all upstream text.
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/careerpath/llmgateway/internal/strictjson"
	"github.com/careerpath/llmgateway/providers"
)

// Kind is the registered provider kind.
const Kind = "anthropic"

// Defaults applied when settings leave them out.
const (
	// DefaultBaseURL is Anthropic's API root, without the /v1 path.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version header sent with every request.
	DefaultVersion = "2023-06-01"
	// DefaultMaxTokens is the max_tokens sent when a request sets none; the
	// Messages API has no default of its own.
	DefaultMaxTokens = 4096
)

// Body size caps: a reply beyond them is treated as malformed instead of
// being buffered without bound.
const (
	maxResponseBytes = 16 << 20
	maxErrorBytes    = 64 << 10
)

func init() {
	providers.Register(Kind, providers.FactoryOf(New))
}

// Options are the backend-specific settings in provider_settings.json
// ("options" of an anthropic provider). Unknown fields are errors.
type Options struct {
	// AnthropicVersion overrides the anthropic-version header
	// (default [DefaultVersion]).
	AnthropicVersion string `json:"anthropic_version,omitempty"`
	// DefaultMaxTokens is the max_tokens sent when a request sets none
	// (default [DefaultMaxTokens]).
	DefaultMaxTokens int `json:"default_max_tokens,omitempty"`
	// StructuredOutput chooses how a JSON-schema answer is asked for:
	// [StructuredAuto] (the default), [StructuredNative] or
	// [StructuredTool]. A JSON-object answer always uses the forced tool.
	StructuredOutput string `json:"structured_output,omitempty"`
}

// Provider talks to the Anthropic Messages API. It is safe for concurrent
// use.
type Provider struct {
	name      string
	endpoint  string
	client    *http.Client
	header    http.Header        // template, cloned per request
	text      providers.Redactor // keeps the key out of upstream text
	timeout   time.Duration
	maxTokens int
	// structured is Options.StructuredOutput.
	structured string
}

// New builds a Provider from s. It does no network I/O.
func New(s providers.Settings) (*Provider, error) {
	opts, err := decodeOptions(s.Options)
	if err != nil {
		return nil, fmt.Errorf("anthropic provider %q: options: %w", s.Name, err)
	}
	hs, err := s.HTTP(Kind, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	h := hs.Header
	// The protocol headers win over Settings.Headers; use the options to
	// change the version.
	h.Set("Content-Type", "application/json")
	h.Set("Anthropic-Version", opts.AnthropicVersion)
	if s.APIKey != "" {
		h.Set("X-Api-Key", s.APIKey)
	}

	return &Provider{
		name:      s.Name,
		endpoint:  hs.Base + "/v1/messages",
		client:    hs.Client,
		header:    h,
		text:      providers.Redactor{Key: s.APIKey, KeyPrefix: keyPrefix},
		timeout:   s.Timeout,
		maxTokens: opts.DefaultMaxTokens,

		structured: opts.StructuredOutput,
	}, nil
}

// decodeOptions strictly decodes raw and fills in the defaults.
func decodeOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if t := bytes.TrimSpace(raw); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		err := strictjson.Decode(t, &o)
		if errors.Is(err, strictjson.ErrTrailingData) {
			err = errors.New("unexpected data after the options object")
		}
		if err != nil {
			return o, err
		}
	}
	if o.DefaultMaxTokens < 0 {
		return o, fmt.Errorf("default_max_tokens %d is negative", o.DefaultMaxTokens)
	}
	if o.DefaultMaxTokens == 0 {
		o.DefaultMaxTokens = DefaultMaxTokens
	}
	switch o.StructuredOutput {
	case "":
		o.StructuredOutput = StructuredAuto
	case StructuredAuto, StructuredNative, StructuredTool:
	default:
		return o, fmt.Errorf("structured_output %q is not one of %q, %q, %q", o.StructuredOutput, StructuredAuto, StructuredNative, StructuredTool)
	}
	if o.AnthropicVersion == "" {
		o.AnthropicVersion = DefaultVersion
	}
	return o, nil
}

// Name is the provider instance name.
func (p *Provider) Name() string { return p.name }

// Complete sends req and waits for the whole answer. Settings.Timeout
// bounds the attempt from sending to the last byte of the answer.
func (p *Provider) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	rb, unwrap, err := p.encode(req, false)
	if err != nil {
		return nil, err
	}
	actx, cancel := providers.AttemptContext(ctx, p.timeout)
	defer cancel()

	resp, err := p.send(actx, rb)
	if err != nil {
		return nil, providers.AttemptError(ctx, actx, p.name, err)
	}
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(ctx, actx, resp)
	}

	buf := getReadBuf()
	defer putReadBuf(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1)); err != nil {
		return nil, providers.AttemptError(ctx, actx, p.name, err)
	}
	if buf.Len() > maxResponseBytes {
		return nil, providers.Errorf(providers.KindMalformed, p.name, "response body exceeds %d bytes", maxResponseBytes)
	}
	return p.parseResponse(buf.Bytes(), unwrap)
}

// Stream sends req with "stream": true. Settings.Timeout bounds the
// attempt only until the response headers arrive; after that the caller's
// context and Close end the stream.
func (p *Provider) Stream(ctx context.Context, req *providers.Request) (providers.Stream, error) {
	rb, unwrap, err := p.encode(req, true)
	if err != nil {
		return nil, err
	}
	var ps *parser
	s, err := providers.EventStreamCall{
		Provider:       p.name,
		Timeout:        p.timeout,
		Send:           func(actx context.Context) (*http.Response, error) { return p.send(actx, rb) },
		StatusError:    p.statusError,
		UnexpectedBody: p.unexpectedBody,
	}.Open(ctx, func(body io.Reader) func() (providers.Chunk, error) {
		ps = newParser(body, p, unwrap)
		return ps.next
	})
	if err != nil {
		return nil, err
	}
	return &stream{BodyStream: s, ps: ps}, nil
}

// send posts a copy of the encoded request. It always releases rb.
func (p *Provider) send(ctx context.Context, rb *reqBuf) (*http.Response, error) {
	hreq, err := providers.NewPost(ctx, p.endpoint, rb.b)
	rb.release()
	if err != nil {
		return nil, err
	}
	hreq.Header = p.header.Clone()
	return p.client.Do(hreq)
}

// closeBody closes a response body whose content has been read or is no
// longer wanted; an error closing it changes nothing for the caller.
func closeBody(resp *http.Response) { _ = resp.Body.Close() }

var _ providers.Provider = (*Provider)(nil)
