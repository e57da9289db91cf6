package routing

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
)

// Target is a resolved provider and model with its price.
type Target struct {
	Provider providers.Provider
	Model    string
	Price    config.Price
	// Embedding marks an embedding model (see config.Model.Embedding).
	Embedding bool
}

// Decision is where one request goes. Decisions are shared and read-only:
// the router returns the same *Decision for every request of a variant.
type Decision struct {
	// Route and Variant name the choice; both empty for a model override.
	Route, Variant string
	// Experiment is the id of the route's experiment; empty for a model
	// override.
	Experiment string
	// Control reports whether Variant is the experiment's control.
	Control bool
	// Target is the primary provider and model.
	Target
	// SystemPrompt, when set, is the variant's static system prompt.
	// [Decision.Messages] sends it; a caller using Messages must not add
	// it again.
	SystemPrompt string
	// Params are the variant's generation defaults.
	Params config.Params
	// Backups are tried in order when the primary fails.
	Backups []Target
	// DegradedAnswer is the route's answer of last resort.
	DegradedAnswer string

	system, user *config.PromptTemplate
	enrich       *enrichment
}

// Selection is what a request asks the router for.
type Selection struct {
	// Route is the route's name.
	Route string
	// Subject is the caller's stable subject: the same subject gets the
	// same variant while the experiment's weights, id and salt are
	// unchanged. Empty picks a variant at random, by weight.
	Subject string
	// ForceVariant, when set, names the variant to use regardless of
	// assignment (for testing a variant, even one of weight 0).
	ForceVariant string
	// ForceAllowed says whether the caller may force a variant.
	ForceAllowed bool
}

type route struct {
	variants []*Decision
	byName   map[string]*Decision
	// table is the variant index of each bucket.
	table      []uint16
	experiment string
	salt       string
}

// Router is an immutable routing table built from one configuration. It is
// safe for concurrent use.
type Router struct {
	routes  map[string]*route
	targets map[config.Target]*Decision
}

// New builds a router from cfg, resolving provider names through provs,
// which must hold every provider cfg names. It computes every experiment's
// bucket table and parses every prompt template once; cfg must have passed
// [config.Config.Validate].
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
		return Target{Provider: p, Model: m.Name, Price: m.Price, Embedding: m.Embedding}, nil
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
		rt, err := newRoute(cfg, name, rc, resolve)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", name, err)
		}
		r.routes[name] = rt
	}
	return r, nil
}

func newRoute(cfg *config.Config, name string, rc config.Route, resolve func(config.Target) (Target, error)) (*route, error) {
	backups := make([]Target, 0, len(rc.Backups))
	for _, b := range rc.Backups {
		t, err := resolve(b)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		backups = append(backups, t)
	}
	enrich, err := newEnrichment(cfg, name, rc.Enrichment)
	if err != nil {
		return nil, err
	}
	rt := &route{byName: map[string]*Decision{}, experiment: rc.ExperimentID(name)}
	control := ""
	if rc.Experiment != nil {
		rt.salt, control = rc.Experiment.Salt, rc.Experiment.Control
	}
	names := make([]string, 0, len(rc.Variants))
	weights := make([]int, 0, len(rc.Variants))
	for i, v := range rc.Variants {
		t, err := resolve(v.Target)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		d := &Decision{
			Route: name, Variant: v.Name, Experiment: rt.experiment,
			Control: v.Name == control || (control == "" && i == 0),
			Target:  t, SystemPrompt: v.SystemPrompt, Params: v.Params,
			Backups: backups, DegradedAnswer: rc.DegradedAnswer,
			enrich: enrich,
		}
		if d.system, err = parsePrompt("system_template", v.SystemTemplate); err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		if d.user, err = parsePrompt("user_template", v.UserTemplate); err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		rt.variants = append(rt.variants, d)
		rt.byName[v.Name] = d
		names = append(names, v.Name)
		weights = append(weights, v.Weight)
	}
	if len(rt.variants) == 0 || len(rt.variants) > config.MaxVariants {
		return nil, fmt.Errorf("%d variants: want 1 to %d", len(rt.variants), config.MaxVariants)
	}
	total := 0
	for _, w := range weights {
		if w < 0 || w > config.MaxWeight {
			return nil, fmt.Errorf("variant weight %d out of range", w)
		}
		total += w
	}
	if total == 0 {
		return nil, fmt.Errorf("variant weights add up to 0")
	}
	rt.table = allocate(rt.experiment, rt.salt, names, weights)
	return rt, nil
}

func parsePrompt(field, text string) (*config.PromptTemplate, error) {
	if text == "" {
		return nil, nil
	}
	t, err := config.ParsePromptTemplate(field, text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// Select picks the variant of sel's route: the forced variant when one is
// named (an error wrapping [ErrForceNotAllowed] unless sel.ForceAllowed,
// or [ErrUnknownVariant] for a name the route does not have), else the
// variant that owns the subject's bucket, else a random bucket's variant.
// An unknown route is an error wrapping [ErrUnknownRoute].
func (r *Router) Select(sel Selection) (*Decision, error) {
	rt, ok := r.routes[sel.Route]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownRoute, sel.Route)
	}
	if sel.ForceVariant != "" {
		if !sel.ForceAllowed {
			return nil, fmt.Errorf("route %q: %w", sel.Route, ErrForceNotAllowed)
		}
		d, ok := rt.byName[sel.ForceVariant]
		if !ok {
			return nil, fmt.Errorf("route %q: %w %q", sel.Route, ErrUnknownVariant, sel.ForceVariant)
		}
		return d, nil
	}
	var b int
	if sel.Subject == "" {
		b = rand.IntN(Buckets)
	} else {
		b = Bucket(rt.experiment, rt.salt, sel.Subject)
	}
	return rt.variants[rt.table[b]], nil
}

// Route picks the variant of the named route for subject, as [Router.Select]
// does without forcing.
func (r *Router) Route(name, subject string) (*Decision, error) {
	return r.Select(Selection{Route: name, Subject: subject})
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
