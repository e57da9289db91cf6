// Package compat serves the vendors' own HTTP APIs on the gateway's HTTP
// port, so that every existing OpenAI or Anthropic SDK works by changing its
// base URL:
//
//   - OpenAI Chat Completions: POST /v1/chat/completions (JSON, and
//     server-sent events with stream: true), GET /v1/models and
//     GET /v1/models/{id};
//   - OpenAI Responses, stateless: POST /v1/responses (JSON, and typed
//     server-sent events with stream: true);
//   - OpenAI Embeddings: POST /v1/embeddings (see embeddings.go);
//   - Anthropic Messages: POST /v1/messages (JSON, and server-sent events).
//
// It is a translation layer and nothing else. Each request becomes a
// [gatewayv1.CompleteRequest] passed, in process, through the gateway's
// own interceptor chain, with the caller's API key and trace context as
// metadata, so that authentication, quotas, the cache, A/B assignment,
// failover and metrics are exactly those of a gRPC call. The answer, or the
// gRPC status of a failure, is translated back into the vendor's JSON, its
// event stream and its error shape.
//
// A request's model field names a gateway route (e.g. "career_advice") or a
// configured provider model ("gpt-4o-mini", or "openai/gpt-4o-mini" to name
// the provider), as a [Catalog] resolves it.
package compat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// Paths the handler serves.
const (
	PathChatCompletions = "/v1/chat/completions"
	PathMessages        = "/v1/messages"
	PathResponses       = "/v1/responses"
	PathModels          = "/v1/models"
)

// Handles reports whether path is one of the compatible endpoints, for
// mounting the handler beside another one on the same port.
func Handles(path string) bool {
	switch path {
	case PathChatCompletions, PathMessages, PathResponses, PathModels, PathEmbeddings:
		return true
	}
	return strings.HasPrefix(path, PathModels+"/") || strings.HasPrefix(path, PathResponses+"/")
}

// Target is what a request's model field names: a route, or a provider
// and one of its models (an explicit model override).
type Target struct {
	// Route is the gateway route; empty for a model override.
	Route string
	// Provider and Model name the model override; empty for a route.
	Provider, Model string
}

// Model is one entry of the model list.
type Model struct {
	// ID is what a request puts in its model field.
	ID string
	// OwnedBy is "llmgateway" for a route, else the provider instance.
	OwnedBy string
}

// Catalog is what the handler reads of the gateway's live configuration.
// Implementations must be safe for concurrent use and follow reloads.
type Catalog interface {
	// Resolve says what model names; false when it names nothing.
	Resolve(model string) (Target, bool)
	// Models authenticates the caller from the incoming gRPC metadata of
	// ctx, as the gRPC API does, and lists the routes and models it may
	// ask for. Its error is a gRPC status error.
	Models(ctx context.Context) ([]Model, error)
}

// Options configure a [Handler].
type Options struct {
	// MaxBodyBytes bounds a request body; larger ones are refused with
	// 413. Zero means 1 MiB.
	MaxBodyBytes int64
}

// Handler serves the compatible endpoints. It is safe for concurrent use.
type Handler struct {
	client  gatewayv1.LLMGatewayClient
	catalog Catalog
	maxBody int64
}

// New returns a handler that answers through client, which must reach
// the gateway's own service through its interceptor chain, resolving
// models with catalog.
func New(client gatewayv1.LLMGatewayClient, catalog Catalog, opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	return &Handler{client: client, catalog: catalog, maxBody: opts.MaxBodyBytes}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathChatCompletions:
		h.post(w, r, openAI)
	case r.URL.Path == PathMessages:
		h.post(w, r, anthropic)
	case r.URL.Path == PathResponses:
		h.post(w, r, responses)
	case strings.HasPrefix(r.URL.Path, PathResponses+"/"):
		writeError(w, responses, storedResponse(r))
	case r.URL.Path == PathEmbeddings:
		h.embeddings(w, r)
	case r.URL.Path == PathModels || strings.HasPrefix(r.URL.Path, PathModels+"/"):
		h.models(w, r)
	default:
		http.NotFound(w, r)
	}
}

// dialect is one vendor's API.
type dialect int

const (
	openAI dialect = iota
	anthropic
	// responses is OpenAI's Responses API, which shares OpenAI's error
	// shape.
	responses
)

// post answers a chat request of API d.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, d dialect) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, d, badMethod(r, http.MethodPost))
		return
	}
	body, aerr := readBody(w, r, h.maxBody)
	if aerr != nil {
		writeError(w, d, aerr)
		return
	}
	var (
		req  *gatewayv1.CompleteRequest
		opts streamOptions
	)
	switch d {
	case openAI:
		req, opts, aerr = decodeChat(body)
	case responses:
		req, opts, aerr = decodeResponses(body)
	default:
		req, opts, aerr = decodeMessages(body)
	}
	if aerr != nil {
		writeError(w, d, aerr)
		return
	}
	ctx, cancel := context.WithCancel(outgoing(r))
	defer cancel()
	if aerr := h.target(r, req, opts.model); aerr != nil {
		writeError(w, d, aerr)
		return
	}
	if opts.stream {
		h.stream(ctx, w, d, req, opts)
		return
	}
	if t, ok := clientTimeout(r.Header); ok {
		// The route's timeout still bounds the call: the hint can only
		// shorten it.
		var cancelHint context.CancelFunc
		ctx, cancelHint = context.WithTimeout(ctx, t)
		defer cancelHint()
	}
	h.complete(ctx, w, d, req, opts)
}

// HeaderClientTimeout is the timeout, in seconds, that the OpenAI and
// Anthropic SDKs send with every request. A unary call gets it as its
// deadline; a stream does not, as the SDKs apply theirs to each read, not
// to the whole stream.
const HeaderClientTimeout = "X-Stainless-Timeout"

// clientTimeout reads [HeaderClientTimeout]; a missing, malformed or
// non-positive value is no hint.
func clientTimeout(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(HeaderClientTimeout))
	if v == "" {
		return 0, false
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs <= 0 || secs > 1e7 || secs != secs {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// target points req at what model names: a route, or a model override.
func (h *Handler) target(r *http.Request, req *gatewayv1.CompleteRequest, model string) *apiError {
	route, override, aerr := h.resolve(r, model, "a configured model")
	req.Route, req.Model = route, override
	return aerr
}

// resolve says what model names: a route, or a model override (what
// describes the models it may name, for the error when it is empty). A
// name of nothing is 404, but only once the caller has proved its key,
// so that an unauthenticated caller learns nothing of the configuration.
func (h *Handler) resolve(r *http.Request, model, what string) (string, *gatewayv1.ModelOverride, *apiError) {
	if model == "" {
		return "", nil, &apiError{status: http.StatusBadRequest, message: "model is required: a gateway route or " + what,
			param: "model"}
	}
	t, ok := h.catalog.Resolve(model)
	if !ok {
		if _, err := h.catalog.Models(incoming(r)); err != nil {
			return "", nil, fromError(err, nil)
		}
		return "", nil, modelNotFound(model)
	}
	if t.Route != "" {
		return t.Route, nil, nil
	}
	return "", &gatewayv1.ModelOverride{Provider: t.Provider, Model: t.Model}, nil
}

// storedResponse is the answer to the Responses API's endpoints of
// stored responses (retrieve, delete, cancel, input items, compact,
// input token counts): the gateway keeps none.
func storedResponse(r *http.Request) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found",
		message: r.Method + " " + r.URL.Path + " is not supported: the gateway's Responses API is stateless and keeps no responses; only POST " + PathResponses}
}

func modelNotFound(model string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "model_not_found", param: "model",
		message: "the model " + strconv.Quote(model) + " is neither a gateway route nor a configured model (GET /v1/models lists them)"}
}

// complete answers a unary request.
func (h *Handler) complete(ctx context.Context, w http.ResponseWriter, d dialect, req *gatewayv1.CompleteRequest, opts streamOptions) {
	var hdr metadata.MD
	resp, err := h.client.Complete(ctx, req, grpc.Header(&hdr))
	copyRateLimitHeaders(w.Header(), hdr)
	if err != nil {
		writeError(w, d, fromError(err, hdr))
		return
	}
	setGatewayHeaders(w.Header(), resp.GetRoute(), resp.GetVariant(), resp.GetProvider(), resp.GetModel(),
		resp.GetStep(), resp.GetServedFrom(), resp.GetCostUsd(), resp.GetId())
	w.Header().Set("Content-Type", "application/json")
	buf := bufPool.get()
	switch d {
	case openAI:
		*buf = appendChatCompletion((*buf)[:0], resp, opts.model, opts.created)
	case responses:
		*buf = appendResponse((*buf)[:0], resp, opts)
	default:
		*buf = appendMessage((*buf)[:0], resp, opts.model)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(*buf)))
	_, _ = w.Write(*buf)
	bufPool.put(buf)
}

// readBody reads the request body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge,
		message: "the request body is larger than the gateway's limit of " + strconv.FormatInt(limit, 10) + " bytes"}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	n := r.ContentLength
	if n < 0 || n > 64<<10 {
		n = 64 << 10
	}
	buf := make([]byte, 0, n+1)
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge
			}
			return nil, &apiError{status: http.StatusBadRequest, message: "could not read the request body"}
		}
	}
}

// Metadata keys forwarded from HTTP headers to the gRPC call: the API key
// in either header (the gRPC API's authentication reads both) and the W3C
// trace context.
var forwardedHeaders = [...]struct{ header, key string }{
	{"Authorization", "authorization"},
	{"X-Api-Key", "x-api-key"},
	{"Traceparent", "traceparent"},
	{"Tracestate", "tracestate"},
	{"Baggage", "baggage"},
}

// forwarded is the request's headers as gRPC metadata.
func forwarded(r *http.Request) metadata.MD {
	md := make(metadata.MD, 2)
	for _, f := range forwardedHeaders {
		if v := r.Header.Values(f.header); len(v) > 0 {
			md[f.key] = v
		}
	}
	return md
}

// outgoing is the request's context carrying its headers as outgoing
// metadata of the gRPC call.
func outgoing(r *http.Request) context.Context {
	return metadata.NewOutgoingContext(r.Context(), forwarded(r))
}

// incoming is the request's context carrying its headers as incoming
// metadata, as the gRPC server would see them, for [Catalog.Models].
func incoming(r *http.Request) context.Context {
	return metadata.NewIncomingContext(r.Context(), forwarded(r))
}

// copyRateLimitHeaders passes the gRPC call's rate-limit headers on under
// their usual HTTP names (they already use OpenAI's names).
func copyRateLimitHeaders(h http.Header, md metadata.MD) {
	for k, v := range md {
		if (k == "retry-after" || strings.HasPrefix(k, "x-ratelimit-")) && len(v) > 0 {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
}

// Response headers saying how the gateway answered.
const (
	HeaderRoute      = "X-Llmgateway-Route"
	HeaderVariant    = "X-Llmgateway-Variant"
	HeaderProvider   = "X-Llmgateway-Provider"
	HeaderModel      = "X-Llmgateway-Model"
	HeaderStep       = "X-Llmgateway-Step"
	HeaderServedFrom = "X-Llmgateway-Served-From"
	HeaderCostUSD    = "X-Llmgateway-Cost-Usd"
	// HeaderResponseID is the gateway's id of the answer, the one
	// POST /v1/feedback takes.
	HeaderResponseID = "X-Llmgateway-Response-Id"
)

// gatewayTrailers declares the headers a stream sends as HTTP trailers,
// once the answer is complete.
var gatewayTrailers = strings.Join([]string{HeaderRoute, HeaderVariant, HeaderProvider, HeaderModel,
	HeaderStep, HeaderServedFrom, HeaderCostUSD, HeaderResponseID}, ", ")

func setGatewayHeaders(h http.Header, route, variant, provider, model string, step gatewayv1.FailoverStep,
	from gatewayv1.ServedFrom, cost float64, id string) {
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{v}
		}
	}
	set(HeaderRoute, route)
	set(HeaderVariant, variant)
	set(HeaderProvider, provider)
	set(HeaderModel, model)
	set(HeaderStep, stepNames[step])
	set(HeaderServedFrom, servedFromNames[from])
	set(HeaderCostUSD, strconv.FormatFloat(cost, 'f', -1, 64))
	set(HeaderResponseID, id)
}

// stepNames and servedFromNames are the enums' short lower-case names
// ("primary", "cache_hit"), computed once.
var (
	stepNames       = enumNames(gatewayv1.FailoverStep_name, "FAILOVER_STEP_", func(i int32) gatewayv1.FailoverStep { return gatewayv1.FailoverStep(i) })
	servedFromNames = enumNames(gatewayv1.ServedFrom_name, "SERVED_FROM_", func(i int32) gatewayv1.ServedFrom { return gatewayv1.ServedFrom(i) })
)

func enumNames[E comparable](names map[int32]string, prefix string, conv func(int32) E) map[E]string {
	out := make(map[E]string, len(names))
	for i, n := range names {
		if i != 0 {
			out[conv(i)] = strings.ToLower(strings.TrimPrefix(n, prefix))
		}
	}
	return out
}

// newID is a fresh identifier with the vendor's prefix, for stream events
// that need one before the gateway's own id is known.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// now is the Unix time of a response's "created".
func now() int64 { return time.Now().Unix() }
