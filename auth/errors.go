package auth

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of the errors this package returns,
// the same as every other error of the gateway.
const ErrorDomain = "llmgateway"

// ErrorInfo reasons of the errors this package returns.
const (
	// ReasonMissingAPIKey: no key was sent, or not in a form the gateway
	// reads (codes.Unauthenticated).
	ReasonMissingAPIKey = "MISSING_API_KEY"
	// ReasonInvalidAPIKey: the key belongs to no client, or the call
	// carried more than one key (codes.Unauthenticated).
	ReasonInvalidAPIKey = "INVALID_API_KEY"
	// ReasonRouteNotAllowed: the client may not use the route
	// (codes.PermissionDenied).
	ReasonRouteNotAllowed = "ROUTE_NOT_ALLOWED"
	// ReasonModelOverrideNotAllowed: the client may not name a model
	// directly (codes.PermissionDenied).
	ReasonModelOverrideNotAllowed = "MODEL_OVERRIDE_NOT_ALLOWED"
	// ReasonForcedVariantNotAllowed: the client may not force an A/B
	// variant (codes.PermissionDenied).
	ReasonForcedVariantNotAllowed = "FORCED_VARIANT_NOT_ALLOWED"
)

// The errors below never include the presented key, nor anything derived
// from it: only fixed text, the client's name and request fields.

func errMissingKey(detail string) error {
	return newError(codes.Unauthenticated, ReasonMissingAPIKey,
		"missing API key: "+detail+`; send "authorization: Bearer <key>" or "x-api-key: <key>"`, nil)
}

func errInvalidKey(msg string) error {
	return newError(codes.Unauthenticated, ReasonInvalidAPIKey, msg, nil)
}

func errRouteNotAllowed(c *Client, route string) error {
	return newError(codes.PermissionDenied, ReasonRouteNotAllowed,
		fmt.Sprintf("client %q may not use route %q", c.Name, route),
		map[string]string{"client": c.Name, "route": route})
}

func errModelOverrideNotAllowed(c *Client) error {
	return newError(codes.PermissionDenied, ReasonModelOverrideNotAllowed,
		fmt.Sprintf(`client %q may not override the model (field "model"); ask for a route instead`, c.Name),
		map[string]string{"client": c.Name, "field": "model"})
}

func errForcedVariantNotAllowed(c *Client, route string) error {
	return newError(codes.PermissionDenied, ReasonForcedVariantNotAllowed,
		fmt.Sprintf("client %q may not force a variant of route %q", c.Name, route),
		map[string]string{"client": c.Name, "route": route})
}

// newError builds a status error carrying an ErrorInfo.
func newError(code codes.Code, reason, msg string, md map[string]string) error {
	s := status.New(code, msg)
	if d, err := s.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: md}); err == nil {
		s = d
	}
	return s.Err()
}
