package auth

import (
	"context"
	"slices"

	"github.com/careerpath/llmgateway/config"
)

// Client is an authenticated API client and what it may do. The
// interceptors attach it to the request's context (see [FromContext]);
// it is shared by every request of the client and must not be modified.
type Client struct {
	// Name identifies the client in logs, metrics, quotas and errors.
	Name string
	// QuotaGroup keys the client's api_key-scoped quotas; clients with the
	// same group share them. It is the client's name unless clients.json
	// sets a quota_group.
	QuotaGroup string
	// Routes are the routes the client may use; "*" allows every route.
	Routes []string
	// AllowModelOverride lets the client name a provider and model
	// directly, bypassing routing.
	AllowModelOverride bool
	// AllowForcedVariant lets the client force an A/B variant of a route.
	AllowForcedVariant bool
	// AllowAllUsage lets the client read every client's usage and cost;
	// others see only their own.
	AllowAllUsage bool
}

// AllowsRoute reports whether c may use route.
func (c *Client) AllowsRoute(route string) bool {
	return slices.Contains(c.Routes, config.AllRoutes) || slices.Contains(c.Routes, route)
}

// anonymous is the client of every request when authentication is
// disabled: every route, every override, one shared quota group.
var anonymous = &Client{
	Name:               config.AnonymousClient,
	QuotaGroup:         config.AnonymousClient,
	Routes:             []string{config.AllRoutes},
	AllowModelOverride: true,
	AllowForcedVariant: true,
	AllowAllUsage:      true,
}

// Anonymous returns the client that every request is attributed to when
// authentication is disabled: named "anonymous", allowed every route,
// every override and every client's usage, so that local development
// works without keys.
func Anonymous() *Client {
	c := *anonymous
	c.Routes = slices.Clone(anonymous.Routes)
	return &c
}

// clientKey is the context key of the authenticated client.
type clientKey struct{}

// NewContext returns a copy of ctx carrying c, as the interceptors attach
// it. Tests of later interceptors use it to stand in for authentication.
func NewContext(ctx context.Context, c *Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// FromContext returns the client the request was authenticated as. It is
// false only for calls that skip authentication (health checks and
// reflection) and outside a gRPC call.
func FromContext(ctx context.Context) (*Client, bool) {
	c, ok := ctx.Value(clientKey{}).(*Client)
	return c, ok && c != nil
}
