package config

import (
	"fmt"
	"slices"
)

// RateLimitsFile is the optional file of quotas and budgets.
const RateLimitsFile = "rate_limits.json"

// RateLimits is rate_limits.json: quotas and budgets, each counted per a
// combination of API key (client), user (the request's caller subject) and
// route. Every limit that matches a request applies; the request must fit
// all of them.
type RateLimits struct {
	Limits []Limit `json:"limits"`
}

// Scope dimensions a limit's counters are keyed by.
const (
	ScopeAPIKey = "api_key"
	ScopeUser   = "user"
	ScopeRoute  = "route"
)

// Limit is one quota or budget.
type Limit struct {
	// Name identifies the limit in errors, metrics and logs.
	Name string `json:"name"`
	// Scope lists what the counters are kept per: any combination of
	// "api_key", "user" and "route". An empty scope is one global counter.
	Scope []string `json:"scope,omitempty"`
	// Routes, when set, limits the rule to these routes.
	Routes []string `json:"routes,omitempty"`
	// Clients, when set, limits the rule to these client identities (API
	// key names).
	Clients []string `json:"clients,omitempty"`

	RequestsPerMinute int     `json:"requests_per_minute,omitempty"`
	TokensPerMinute   int     `json:"tokens_per_minute,omitempty"`
	ConcurrentStreams int     `json:"concurrent_streams,omitempty"`
	USDPerDay         float64 `json:"usd_per_day,omitempty"`
	USDPerMonth       float64 `json:"usd_per_month,omitempty"`
}

// validateRateLimits checks rate_limits.json, including the routes it
// names against ab_test_config.json.
func (c *Config) validateRateLimits(add func(file, path, format string, args ...any)) {
	const rl = RateLimitsFile
	names := map[string]bool{}
	for i, l := range c.RateLimits.Limits {
		path := fmt.Sprintf("$.limits[%d]", i)
		if !namePattern.MatchString(l.Name) {
			add(rl, path+".name", "is required and must match %s", namePattern)
		} else if names[l.Name] {
			add(rl, path+".name", "duplicate limit name %q", l.Name)
		}
		names[l.Name] = true
		seen := map[string]bool{}
		for j, s := range l.Scope {
			if !slices.Contains([]string{ScopeAPIKey, ScopeUser, ScopeRoute}, s) {
				add(rl, fmt.Sprintf("%s.scope[%d]", path, j), "unknown scope %q (use api_key, user or route)", s)
			}
			if seen[s] {
				add(rl, fmt.Sprintf("%s.scope[%d]", path, j), "scope %q listed twice", s)
			}
			seen[s] = true
		}
		for j, r := range l.Routes {
			if _, ok := c.Routes.Routes[r]; !ok {
				add(rl, fmt.Sprintf("%s.routes[%d]", path, j), "unknown route %q (not in %s)", r, ABTestConfigFile)
			}
		}
		if l.RequestsPerMinute < 0 || l.TokensPerMinute < 0 || l.ConcurrentStreams < 0 || l.USDPerDay < 0 || l.USDPerMonth < 0 {
			add(rl, path, "limits must not be negative")
		}
		if l.RequestsPerMinute == 0 && l.TokensPerMinute == 0 && l.ConcurrentStreams == 0 && l.USDPerDay == 0 && l.USDPerMonth == 0 {
			add(rl, path, "sets no limit: give requests_per_minute, tokens_per_minute, concurrent_streams, usd_per_day or usd_per_month")
		}
	}
}
