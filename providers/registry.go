package providers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/careerpath/llmgateway/internal/spans"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Settings is what a [Factory] needs to build one provider instance. The
// gateway fills it from provider_settings.json.
type Settings struct {
	// Name is the instance name (the key in provider_settings.json).
	Name string
	// Kind is the registered backend kind, e.g. "openai".
	Kind string
	// BaseURL overrides the vendor's default API root. Its meaning is the
	// backend's: OpenAI's includes the /v1 path, Anthropic's does not, as
	// in the vendors' own SDKs.
	BaseURL string
	// APIKey is the credential, already resolved from its environment
	// variable or file. It is never logged or echoed.
	APIKey string
	// Headers are extra HTTP headers sent with every request.
	Headers map[string]string
	// Timeout bounds one attempt: a unary call from sending the request to
	// the last byte of the answer, a stream until its response headers
	// arrive. Zero means no bound beyond the caller's context.
	Timeout time.Duration
	// HTTPClient is the client to send requests with; nil means a shared,
	// tuned default (see [DefaultHTTPClient]).
	HTTPClient *http.Client
	// Options holds backend-specific settings as raw JSON, decoded strictly
	// by the backend (unknown fields are errors).
	Options json.RawMessage
}

// Factory builds a provider from its settings. It must not do network I/O.
type Factory func(Settings) (Provider, error)

// FactoryOf adapts a backend's constructor to a [Factory]. A failed
// construction gives a nil [Provider], never a typed nil inside the
// interface.
func FactoryOf[P Provider](newProvider func(Settings) (P, error)) Factory {
	return func(s Settings) (Provider, error) {
		p, err := newProvider(s)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes a backend available under kind. It is meant to be called
// from a backend package's init function and panics if kind is empty or
// already registered, so that a clash is found at start-up, not in
// production.
func Register(kind string, f Factory) {
	if kind == "" {
		panic("providers: Register with empty kind")
	}
	if f == nil {
		panic("providers: Register of kind " + kind + " with nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[kind]; dup {
		panic("providers: kind " + kind + " registered twice")
	}
	registry.m[kind] = f
}

// Kinds lists the registered kinds in sorted order.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	kinds := make([]string, 0, len(registry.m))
	for k := range registry.m {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// ErrUnknownKind is returned by [New] for a kind nobody registered.
type ErrUnknownKind struct{ Kind string }

func (e *ErrUnknownKind) Error() string {
	return fmt.Sprintf("unknown provider kind %q (known kinds: %v)", e.Kind, Kinds())
}

// New builds a provider of s.Kind from s.
func New(s Settings) (Provider, error) {
	registry.RLock()
	f, ok := registry.m[s.Kind]
	registry.RUnlock()
	if !ok {
		return nil, &ErrUnknownKind{Kind: s.Kind}
	}
	if s.HTTPClient == nil {
		s.HTTPClient = DefaultHTTPClient()
	}
	return f(s)
}

var (
	defaultClientOnce sync.Once
	defaultClient     *http.Client
)

// DefaultHTTPClient is the shared client used toward providers: a transport
// with connection pools sized for a gateway (many idle connections per host,
// HTTP/2 where the vendor offers it) and no overall timeout, since deadlines
// come from each request's context. Calls are traced with otelhttp: the
// caller's trace context (W3C traceparent) goes on to the provider, and a
// client span covers each call when tracing is on.
func DefaultHTTPClient() *http.Client {
	defaultClientOnce.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 1024
		t.MaxIdleConnsPerHost = 256
		t.IdleConnTimeout = 90 * time.Second
		t.ForceAttemptHTTP2 = true
		t.ResponseHeaderTimeout = 0
		defaultClient = &http.Client{
			Transport: tracedTransport{otelhttp.NewTransport(t), t},
			// A redirect toward a provider API is a misconfigured base URL
			// (http instead of https, a missing path); following it would
			// turn a POST into a GET and hide the cause.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return defaultClient
}

// tracedTransport is an otelhttp transport that can still close its base
// transport's idle connections. While the process records no spans (the
// no-op tracer provider, tracing off) a call skips otelhttp's span, body
// wrapper and metrics: the caller's trace context, when there is one, is
// injected as is, on a copy of the request.
type tracedTransport struct {
	http.RoundTripper
	base *http.Transport
}

// RoundTrip implements http.RoundTripper.
func (t tracedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !spans.Off() {
		return t.RoundTripper.RoundTrip(r)
	}
	ctx := r.Context()
	if trace.SpanContextFromContext(ctx).IsValid() || baggage.FromContext(ctx).Len() > 0 {
		// A RoundTripper must not change the caller's request.
		r = r.Clone(ctx)
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(r.Header))
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections closes the base transport's idle connections.
func (t tracedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
