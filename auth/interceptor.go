package auth

import (
	"context"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// Metadata keys the API key is read from. The REST shim forwards the HTTP
// Authorization header as "authorization"; X-Api-Key needs a header
// matcher that forwards it as "x-api-key".
const (
	// HeaderAuthorization carries "Bearer <key>".
	HeaderAuthorization = "authorization"
	// HeaderAPIKey carries the key alone.
	HeaderAPIKey = "x-api-key"
)

// Option configures [Interceptors].
type Option func(*options)

type options struct {
	store         func() *KeyStore
	forcedVariant func(*gatewayv1.CompleteRequest) string
}

// WithStoreFunc makes the interceptors ask f for the key store on every
// call instead of using the one given to [Interceptors], so that a
// reloaded clients.json takes effect at once. f must be safe for
// concurrent use (e.g. an atomic.Pointer's Load). A nil store fails the
// call closed with codes.Internal.
func WithStoreFunc(f func() *KeyStore) Option {
	return func(o *options) { o.store = f }
}

// WithForcedVariant tells the interceptors how to find the variant a
// request forces (empty for none), so that only clients with
// allow_forced_variant may force one; refused requests fail with
// codes.PermissionDenied and reason FORCED_VARIANT_NOT_ALLOWED. Without
// it no request is treated as forcing a variant.
func WithForcedVariant(f func(*gatewayv1.CompleteRequest) string) Option {
	return func(o *options) { o.forcedVariant = f }
}

// Interceptors returns the unary and stream interceptors that
// authenticate every call with store and authorise what it asks for. They
// are built from go-grpc-middleware's auth interceptors, and skip the
// health and reflection services (see [Authenticated]).
//
// Authentication reads the API key from "authorization: Bearer <key>" or
// "x-api-key: <key>" (both may be sent if they carry the same key). A
// missing or malformed key fails with codes.Unauthenticated and reason
// MISSING_API_KEY; a key of no client, or several different keys, with
// codes.Unauthenticated and reason INVALID_API_KEY. The client found is
// attached to the context ([FromContext]). With a disabled store every
// call is let in as the [Anonymous] client and keys are not read.
//
// Authorisation inspects the request, for streams on every message
// received: a route (of a CompleteRequest, EmbedRequest or
// GetExperimentRequest) the client may not use fails with
// codes.PermissionDenied and reason ROUTE_NOT_ALLOWED, a model override
// without allow_model_override with reason MODEL_OVERRIDE_NOT_ALLOWED. An empty route is left to request
// validation.
//
// No error, and nothing this package does, includes the presented key.
// In the server's chain they belong after logging (so that refusals are
// logged) and before status mapping, validation and quotas (so that those
// see the client).
func Interceptors(store *KeyStore, opts ...Option) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	o := &options{store: func() *KeyStore { return store }}
	for _, opt := range opts {
		opt(o)
	}
	// Refusals leave through the gateway's error map.
	authUnary := grpcauth.UnaryServerInterceptor(o.authenticateStatus)
	authStream := grpcauth.StreamServerInterceptor(o.authenticateStatus)

	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return authUnary(ctx, req, info, func(ctx context.Context, req any) (any, error) {
			if err := o.authorize(ctx, req); err != nil {
				return nil, gwerr.Err(err)
			}
			return h(ctx, req)
		})
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return authStream(srv, ss, info, func(srv any, ss grpc.ServerStream) error {
			return h(srv, &authorizingStream{ServerStream: ss, o: o})
		})
	}
	return selector.UnaryServerInterceptor(unary, Authenticated), selector.StreamServerInterceptor(stream, Authenticated)
}

// openServices are the services callers reach without a key: load
// balancers' health checks and tools' reflection.
var openServices = map[string]bool{
	grpc_health_v1.Health_ServiceDesc.ServiceName:              true,
	reflectionv1.ServerReflection_ServiceDesc.ServiceName:      true,
	reflectionv1alpha.ServerReflection_ServiceDesc.ServiceName: true,
}

// Authenticated selects the calls that need an API key: every call except
// those of the gRPC health (grpc.health.v1.Health) and reflection
// services.
var Authenticated = selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
	return !openServices[c.Service]
})

// authenticate is the go-grpc-middleware AuthFunc: it finds the caller's
// client and attaches it to the context.
func (o *options) authenticate(ctx context.Context) (context.Context, error) {
	c, err := Authenticate(ctx, o.store())
	if err != nil {
		return nil, err
	}
	return NewContext(ctx, c), nil
}

// authenticateStatus is authenticate with its refusal as a gRPC status.
func (o *options) authenticateStatus(ctx context.Context) (context.Context, error) {
	ctx, err := o.authenticate(ctx)
	return ctx, gwerr.Err(err)
}

// Authenticate finds the client whose API key the incoming metadata of
// ctx carries, exactly as the interceptors do, for endpoints that are not
// gRPC calls (such as a model list). It fails with the interceptors'
// errors; a nil store is codes.Internal, a disabled one lets everyone in
// as the [Anonymous] client.
func Authenticate(ctx context.Context, ks *KeyStore) (*Client, error) {
	if ks == nil {
		return nil, &gwerr.Error{Kind: gwerr.Internal, Message: "authentication is not configured"}
	}
	if ks.Disabled() {
		return anonymous, nil
	}
	key, err := keyFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	c, ok := ks.Lookup(key)
	if !ok {
		return nil, errInvalidKey("invalid API key")
	}
	return c, nil
}

// keyFromMetadata reads the API key from the call's metadata. It does not
// use go-grpc-middleware's AuthFromMD, which reads only the first
// authorization value and returns errors without details. Several
// headers or values are accepted only when they carry the same key, so
// that a proxy's key and a caller's key are never silently mixed.
func keyFromMetadata(ctx context.Context) (string, error) {
	// Only the two headers are read: copying the whole metadata would
	// cost every call an allocation per header.
	var key string
	same := func(k string) error {
		if key != "" && k != key {
			return errInvalidKey("more than one API key was sent; send exactly one")
		}
		key = k
		return nil
	}
	for _, v := range metadata.ValueFromIncomingContext(ctx, HeaderAuthorization) {
		scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
			return "", errMissingKey(`the authorization header is not "Bearer <key>"`)
		}
		if err := same(token); err != nil {
			return "", err
		}
	}
	for _, v := range metadata.ValueFromIncomingContext(ctx, HeaderAPIKey) {
		v = strings.TrimSpace(v)
		if v == "" {
			return "", errMissingKey("the x-api-key header is empty")
		}
		if err := same(v); err != nil {
			return "", err
		}
	}
	if key == "" {
		return "", errMissingKey("no authorization or x-api-key header")
	}
	return key, nil
}

// authorize checks that the authenticated client may make request req.
func (o *options) authorize(ctx context.Context, req any) error {
	c, ok := FromContext(ctx)
	if !ok {
		return &gwerr.Error{Kind: gwerr.Internal, Message: "no authenticated client"}
	}
	switch r := req.(type) {
	case *gatewayv1.CompleteRequest:
		if route := r.GetRoute(); route != "" && !c.AllowsRoute(route) {
			return errRouteNotAllowed(c, route)
		}
		if r.GetModel() != nil && !c.AllowModelOverride {
			return errModelOverrideNotAllowed(c)
		}
		if o.forcedVariant != nil && !c.AllowForcedVariant && o.forcedVariant(r) != "" {
			return errForcedVariantNotAllowed(c, r.GetRoute())
		}
	case *gatewayv1.EmbedRequest:
		if route := r.GetRoute(); route != "" && !c.AllowsRoute(route) {
			return errRouteNotAllowed(c, route)
		}
		if r.GetModel() != nil && !c.AllowModelOverride {
			return errModelOverrideNotAllowed(c)
		}
	case *gatewayv1.GetExperimentRequest:
		if route := r.GetRoute(); route != "" && !c.AllowsRoute(route) {
			return errRouteNotAllowed(c, route)
		}
	}
	return nil
}

// authorizingStream authorises every message the handler receives; for
// the server-streaming Stream RPC that is the one request, read before
// anything is sent.
type authorizingStream struct {
	grpc.ServerStream
	o *options
}

// RecvMsg implements grpc.ServerStream.
func (s *authorizingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return gwerr.Err(s.o.authorize(s.Context(), m))
}
