package server

import (
	"errors"
	"io"
	"sort"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
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
}

// BuildRuntime builds providers and the routing table from cfg. API keys are
// resolved through getenv. On error nothing is left running.
func BuildRuntime(cfg *config.Config, getenv func(string) string) (_ *Runtime, err error) {
	rt := &Runtime{Config: cfg, Providers: map[string]providers.Provider{}}
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
	rt.Router, err = routing.New(cfg, rt.Providers)
	if err != nil {
		return nil, &config.Error{File: config.ABTestConfigFile, Reason: err.Error()}
	}
	return rt, nil
}

// Close releases what the runtime's providers hold (an embedded simulator,
// idle connections). Call it once no request uses the runtime any more.
func (rt *Runtime) Close() {
	for _, p := range rt.Providers {
		if c, ok := p.(io.Closer); ok {
			_ = c.Close()
		}
	}
}
