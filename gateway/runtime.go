package gateway

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
)

// Runtime is everything built from one configuration: the provider clients
// and the routing table. It is immutable once built; a new configuration
// builds a new Runtime that replaces the old one atomically, and requests
// in flight keep the Runtime they started with.
type Runtime struct {
	// Config is the configuration this runtime was built from.
	Config *config.Config
	// Router routes requests to providers.
	Router *routing.Router
	// Providers by instance name.
	Providers map[string]providers.Provider
	// Resilience holds each provider's guard (retry, breaker, bulkhead).
	Resilience *resilience.Set
	// Keys authenticates clients (clients.json); a disabled store when the
	// file is absent or says so.
	Keys *auth.KeyStore

	chains map[*routing.Decision]*resilience.Chain
	// group coalesces identical cacheable requests. It belongs to the
	// runtime so that a shared call only serves requests pinned to the
	// runtime it runs on.
	group cache.Group

	// LoadedAt is when the runtime was built.
	LoadedAt time.Time

	// refs counts requests using the runtime; once it is retired (replaced
	// by a newer one) the last of them closes it.
	refs      atomic.Int64
	retired   atomic.Bool
	closeOnce sync.Once
}

// RuntimeOptions are what building a runtime needs besides configuration.
type RuntimeOptions struct {
	// Getenv resolves API key environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Observer is told what the resilience policies do; nil observes
	// nothing.
	Observer resilience.Observer
	// Cooldowns holds the providers cooled down after a 429 with a
	// Retry-After; nil keeps them in memory of the runtime's own. Give
	// every runtime the same store, so that cooldowns survive reloads.
	Cooldowns cooldown.Store
	// Previous is the runtime being replaced: providers whose settings
	// did not change keep their breaker, concurrency limit and hedging
	// latency estimate.
	Previous *Runtime
}

// BuildRuntime builds providers, their guards, the routing table and every
// route variant's failover chain from cfg. On error nothing is left
// running.
func BuildRuntime(cfg *config.Config, opts RuntimeOptions) (_ *Runtime, err error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	rt := &Runtime{Config: cfg, Providers: map[string]providers.Provider{}, LoadedAt: time.Now()}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	names := make([]string, 0, len(cfg.Providers.Providers))
	for name := range cfg.Providers.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		pc := cfg.Providers.Providers[name]
		key, err := pc.APIKey(name, getenv)
		if err != nil {
			return nil, err
		}
		p, err := providers.New(providers.Settings{
			Name:    name,
			Kind:    pc.Kind,
			BaseURL: pc.BaseURL,
			APIKey:  key,
			Headers: pc.Headers,
			Timeout: time.Duration(pc.Timeout),
			Options: pc.Options,
		})
		if err != nil {
			path := "$.providers." + name
			var uk *providers.ErrUnknownKind
			if errors.As(err, &uk) {
				path += ".kind"
			}
			return nil, &config.Error{File: config.ProviderSettingsFile, Path: path, Reason: err.Error()}
		}
		rt.Providers[name] = p
	}
	for i, m := range cfg.Providers.Models {
		if _, ok := providers.EmbedderOf(rt.Providers[m.Provider]); m.Embedding && !ok {
			return nil, &config.Error{File: config.ProviderSettingsFile, Path: fmt.Sprintf("$.models[%d].embedding", i),
				Reason: fmt.Sprintf("provider %q (kind %s) has no embeddings API", m.Provider, cfg.Providers.Providers[m.Provider].Kind)}
		}
	}
	if err := rt.assemble(opts); err != nil {
		return nil, err
	}
	return rt, nil
}

// assemble builds the routing table, the guards and every decision's
// failover chain over rt's providers.
func (rt *Runtime) assemble(opts RuntimeOptions) error {
	var err error
	if rt.Config.Clients == nil || rt.Config.Clients.Auth.Disabled {
		rt.Keys = auth.DisabledKeyStore()
	} else if rt.Keys, err = auth.NewKeyStore(rt.Config.Clients); err != nil {
		return err
	}
	rt.Router, err = routing.New(rt.Config, rt.Providers)
	if err != nil {
		return &config.Error{File: config.ABTestConfigFile, Reason: err.Error()}
	}
	setOpts := []resilience.SetOption{resilience.WithCooldowns(opts.Cooldowns)}
	if opts.Previous != nil {
		setOpts = append(setOpts, resilience.Adopting(opts.Previous.Resilience))
	}
	if rt.Resilience, err = resilience.NewSet(rt.Config, rt.Providers, opts.Observer, setOpts...); err != nil {
		return err
	}
	decisions := rt.Router.Decisions()
	rt.chains = make(map[*routing.Decision]*resilience.Chain, len(decisions))
	for _, d := range decisions {
		backups := make([]resilience.Target, len(d.Backups))
		for i, b := range d.Backups {
			backups[i] = resilience.Target{Provider: b.Provider.Name(), Model: b.Model}
		}
		primary := resilience.Target{Provider: d.Provider.Name(), Model: d.Model}
		route := rt.Config.Routes.Routes[d.Route]
		timeout := resilience.WithTimeout(time.Duration(route.Timeout))
		onMismatch := resilience.WithSchemaMismatch(route.SchemaMismatch())
		if rt.chains[d], err = rt.Resilience.Chain(d.Route, primary, backups, d.DegradedAnswer, timeout, onMismatch); err != nil {
			return &config.Error{File: config.ABTestConfigFile, Reason: err.Error()}
		}
	}
	return nil
}

// chain returns d's failover chain.
func (rt *Runtime) chain(d *routing.Decision) *resilience.Chain { return rt.chains[d] }

// Close releases what the runtime's providers hold (an embedded simulator,
// idle connections). It is called once no request uses the runtime any
// more; calling it again does nothing.
func (rt *Runtime) Close() {
	rt.closeOnce.Do(func() {
		for _, p := range rt.Providers {
			if c, ok := p.(io.Closer); ok {
				_ = c.Close()
			}
		}
	})
}

// retire marks rt as replaced: it closes now if no request uses it, else
// when the last one finishes.
func (rt *Runtime) retire() {
	rt.retired.Store(true)
	if rt.refs.Load() == 0 {
		rt.Close()
	}
}

func (rt *Runtime) release() {
	if rt.refs.Add(-1) == 0 && rt.retired.Load() {
		rt.Close()
	}
}
