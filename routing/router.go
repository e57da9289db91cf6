// Package routing decides, for every request, which provider and model
// answer it: a route name selects one of the route's variants by weight,
// sticky per subject so that a user keeps seeing the same variant.
package routing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
)

// ErrUnknownRoute is returned for a route name that is not configured.
var ErrUnknownRoute = errors.New("unknown route")

// ErrUnknownModel is returned for an override naming a provider or model
// that is not configured.
var ErrUnknownModel = errors.New("unknown provider or model")

// Target is a resolved provider and model with its price.
type Target struct {
	Provider providers.Provider
	Model    string
	Price    config.Price
}

// Decision is where one request goes. Decisions are shared and read-only.
type Decision struct {
	// Route and Variant name the choice; both empty for a model override.
	Route, Variant string
	// Target is the primary provider and model.
	Target
	// SystemPrompt, when set, is sent before the caller's messages.
	SystemPrompt string
	// Params are the variant's generation defaults.
	Params config.Params
	// Backups are tried in order when the primary fails.
	Backups []Target
	// DegradedAnswer is the route's answer of last resort.
	DegradedAnswer string
}

type route struct {
	variants []*Decision
	// cumulative weights, parallel to variants
	cum   []uint64
	total uint64
}

// Router is an immutable routing table built from one configuration.
type Router struct {
	routes  map[string]*route
	targets map[config.Target]*Decision
}

// New builds a router from cfg, resolving provider names through provs,
// which must hold every provider cfg names.
func New(cfg *config.Config, provs map[string]providers.Provider) (*Router, error) {
	r := &Router{routes: map[string]*route{}, targets: map[config.Target]*Decision{}}
	resolve := func(t config.Target) (Target, error) {
		p, ok := provs[t.Provider]
		if !ok {
			return Target{}, fmt.Errorf("provider %q is not built", t.Provider)
		}
		m, ok := cfg.ModelFor(t.Provider, t.Model)
		if !ok {
			return Target{}, fmt.Errorf("model %q of provider %q is not configured", t.Model, t.Provider)
		}
		return Target{Provider: p, Model: m.Name, Price: m.Price}, nil
	}
	for _, m := range cfg.Providers.Models {
		t := config.Target{Provider: m.Provider, Model: m.Name}
		rt, err := resolve(t)
		if err != nil {
			return nil, err
		}
		r.targets[t] = &Decision{Target: rt}
	}
	for name, rc := range cfg.Routes.Routes {
		backups := make([]Target, 0, len(rc.Backups))
		for _, b := range rc.Backups {
			t, err := resolve(b)
			if err != nil {
				return nil, fmt.Errorf("route %s: backup: %w", name, err)
			}
			backups = append(backups, t)
		}
		rt := &route{}
		for _, v := range rc.Variants {
			t, err := resolve(v.Target)
			if err != nil {
				return nil, fmt.Errorf("route %s: variant %s: %w", name, v.Name, err)
			}
			rt.total += uint64(v.Weight)
			rt.cum = append(rt.cum, rt.total)
			rt.variants = append(rt.variants, &Decision{
				Route: name, Variant: v.Name, Target: t,
				SystemPrompt: v.SystemPrompt, Params: v.Params,
				Backups: backups, DegradedAnswer: rc.DegradedAnswer,
			})
		}
		if rt.total == 0 {
			return nil, fmt.Errorf("route %s: variant weights add up to 0", name)
		}
		r.routes[name] = rt
	}
	return r, nil
}

// Route picks the variant of the named route for subject. The same subject
// always gets the same variant while the weights are unchanged; an empty
// subject gets a random one.
func (r *Router) Route(name, subject string) (*Decision, error) {
	rt, ok := r.routes[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownRoute, name)
	}
	if len(rt.variants) == 1 {
		return rt.variants[0], nil
	}
	var x uint64
	if subject == "" {
		x = rand.Uint64N(rt.total)
	} else {
		x = stickyHash(name, subject) % rt.total
	}
	for i, c := range rt.cum {
		if x < c {
			return rt.variants[i], nil
		}
	}
	return rt.variants[len(rt.variants)-1], nil
}

// Direct resolves an explicit provider and model override.
func (r *Router) Direct(provider, model string) (*Decision, error) {
	d, ok := r.targets[config.Target{Provider: provider, Model: model}]
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", ErrUnknownModel, provider, model)
	}
	return d, nil
}

// Routes lists the configured route names.
func (r *Router) Routes() []string {
	names := make([]string, 0, len(r.routes))
	for n := range r.routes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// stickyHash is FNV-1a over route, a zero byte and subject: stable across
// processes and releases, so assignment survives restarts and replicas.
func stickyHash(route, subject string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(route); i++ {
		h = (h ^ uint64(route[i])) * prime
	}
	h *= prime // the separator byte 0: h ^ 0 == h
	for i := 0; i < len(subject); i++ {
		h = (h ^ uint64(subject[i])) * prime
	}
	return h
}

// Decisions lists every decision the router can return: each variant of
// each route and each explicit provider/model target, so that callers can
// prepare per-decision state (failover chains) once per configuration.
func (r *Router) Decisions() []*Decision {
	var ds []*Decision
	for _, rt := range r.routes {
		ds = append(ds, rt.variants...)
	}
	for _, d := range r.targets {
		ds = append(ds, d)
	}
	return ds
}
