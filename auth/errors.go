package auth

import (
	"fmt"

	"github.com/careerpath/llmgateway/gwerr"
)

// The errors below never include the presented key, nor anything derived
// from it: only fixed text, the client's name and request fields.

func errMissingKey(detail string) error {
	return newError(gwerr.Unauthenticated, gwerr.ReasonMissingAPIKey,
		"missing API key: "+detail+`; send "authorization: Bearer <key>" or "x-api-key: <key>"`, nil)
}

func errInvalidKey(msg string) error {
	return newError(gwerr.Unauthenticated, gwerr.ReasonInvalidAPIKey, msg, nil)
}

func errRouteNotAllowed(c *Client, route string) error {
	return newError(gwerr.Denied, gwerr.ReasonRouteNotAllowed,
		fmt.Sprintf("client %q may not use route %q", c.Name, route),
		map[string]string{"client": c.Name, "route": route})
}

func errModelOverrideNotAllowed(c *Client) error {
	return newError(gwerr.Denied, gwerr.ReasonModelOverrideNotAllowed,
		fmt.Sprintf(`client %q may not override the model (field "model"); ask for a route instead`, c.Name),
		map[string]string{"client": c.Name, "field": "model"})
}

func errForcedVariantNotAllowed(c *Client, route string) error {
	return newError(gwerr.Denied, gwerr.ReasonForcedVariantNotAllowed,
		fmt.Sprintf("client %q may not force a variant of route %q", c.Name, route),
		map[string]string{"client": c.Name, "route": route})
}

// newError is a refusal of this package; [gwerr.Status] maps it.
func newError(kind gwerr.Kind, reason, msg string, md map[string]string) error {
	return &gwerr.Error{Kind: kind, Reason: reason, Message: msg, Metadata: md}
}
