package edge

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge/compat"
	"github.com/careerpath/llmgateway/gateway"
)

// withCompat serves the OpenAI- and Anthropic-compatible endpoints
// (package compat) beside the REST shim on the HTTP port. Like the shim,
// they call the service in process through the interceptor chain.
func (s *Server) withCompat(rest http.Handler) http.Handler {
	h := compat.New(s.local, catalog{s.service},
		compat.Options{MaxBodyBytes: int64(s.opts.Limits.MaxRequestBytes)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if compat.Handles(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// catalog resolves the compatible APIs' model field against the current
// configuration: a route name first, then "provider/model", then a bare
// model name, served by the first provider that lists it in
// provider_settings.json.
type catalog struct{ svc *gateway.Service }

// Resolve implements compat.Catalog.
func (c catalog) Resolve(model string) (compat.Target, bool) {
	cfg := c.svc.Runtime().Config
	if _, ok := cfg.Routes.Routes[model]; ok {
		return compat.Target{Route: model}, true
	}
	if p, m, ok := strings.Cut(model, "/"); ok {
		if _, ok := cfg.ModelFor(p, m); ok {
			return compat.Target{Provider: p, Model: m}, true
		}
	}
	for _, m := range cfg.Providers.Models {
		if m.Name == model {
			return compat.Target{Provider: m.Provider, Model: m.Name}, true
		}
	}
	return compat.Target{}, false
}

// Models implements compat.Catalog: the routes the caller may use, sorted,
// then, when it may override the model, every configured model (by its
// bare name when that resolves to it, else as "provider/model").
func (c catalog) Models(ctx context.Context) ([]compat.Model, error) {
	rt := c.svc.Runtime()
	client, err := auth.Authenticate(ctx, rt.Keys)
	if err != nil {
		return nil, err
	}
	routes := rt.Router.Routes()
	out := make([]compat.Model, 0, len(routes)+len(rt.Config.Providers.Models))
	for _, r := range routes {
		if client.AllowsRoute(r) {
			out = append(out, compat.Model{ID: r, OwnedBy: "llmgateway"})
		}
	}
	if !client.AllowModelOverride {
		return out, nil
	}
	models := rt.Config.Providers.Models
	for i, m := range models {
		id := m.Name
		if _, isRoute := rt.Config.Routes.Routes[id]; isRoute || slices.ContainsFunc(models[:i], func(p config.Model) bool { return p.Name == m.Name }) {
			id = m.Provider + "/" + m.Name
		}
		out = append(out, compat.Model{ID: id, OwnedBy: m.Provider})
	}
	return out, nil
}

var _ compat.Catalog = catalog{}
