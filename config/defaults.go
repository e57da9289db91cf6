package config

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

//go:embed defaults/*.json defaults/*.jsonl
var defaultFiles embed.FS

// DefaultFS is the embedded default configuration: the Career Path
// Navigator's routes answered by the in-process simulator.
func DefaultFS() fs.FS {
	sub, err := fs.Sub(defaultFiles, "defaults")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sub
}

// Default returns the embedded default configuration, adjusted to the
// environment the way the vendors' SDKs read it: when OPENAI_API_KEY,
// ANTHROPIC_API_KEY or GEMINI_API_KEY is set, the "openai", "anthropic" or
// "gemini" provider talks to the real vendor (or to OPENAI_BASE_URL,
// ANTHROPIC_BASE_URL or GEMINI_BASE_URL, the latter with its API version)
// instead of the simulator.
func Default(getenv func(string) string) (*Config, error) {
	var cfg Config
	var err error
	fsys := DefaultFS()
	if err := decodeFile(fsys, ProviderSettingsFile, &cfg.Providers); err != nil {
		return nil, err
	}
	if err := decodeFile(fsys, ABTestConfigFile, &cfg.Routes); err != nil {
		return nil, err
	}
	vendors := []struct{ name, kind, keyEnv, urlEnv string }{
		{"openai", "openai", "OPENAI_API_KEY", "OPENAI_BASE_URL"},
		{"anthropic", "anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"},
		{"gemini", "gemini", "GEMINI_API_KEY", "GEMINI_BASE_URL"},
	}
	for _, r := range vendors {
		if getenv(r.keyEnv) == "" {
			continue
		}
		cfg.Providers.Providers[r.name] = Provider{
			Kind:      r.kind,
			BaseURL:   getenv(r.urlEnv),
			APIKeyEnv: r.keyEnv,
			Timeout:   Duration(60 * time.Second),
		}
	}
	if _, err := fs.Stat(fsys, RateLimitsFile); err == nil {
		if err := decodeFile(fsys, RateLimitsFile, &cfg.RateLimits); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Version, err = Version(fsys); err != nil {
		return nil, err
	}
	cfg.Version = "default-" + cfg.Version
	return &cfg, nil
}

// APIKey resolves the provider's credential from its environment variable
// or file. name is the provider's instance name, for error messages.
func (p Provider) APIKey(name string, getenv func(string) string) (string, error) {
	path := "$.providers." + name
	switch {
	case p.APIKeyEnv != "":
		key := getenv(p.APIKeyEnv)
		if key == "" {
			return "", &Error{File: ProviderSettingsFile, Path: path + ".api_key_env",
				Reason: fmt.Sprintf("environment variable %s is not set", p.APIKeyEnv)}
		}
		return key, nil
	case p.APIKeyFile != "":
		b, err := os.ReadFile(p.APIKeyFile)
		if err != nil {
			return "", &Error{File: ProviderSettingsFile, Path: path + ".api_key_file",
				Reason: "cannot read the key file: " + err.Error()}
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", &Error{File: ProviderSettingsFile, Path: path + ".api_key_file", Reason: "the key file is empty"}
		}
		return key, nil
	}
	return "", nil
}

// Encode writes cfg back as the two JSON files' contents, keyed by file
// name; used to show the active configuration and to seed a config
// directory.
func (c *Config) Encode() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, v := range map[string]any{ProviderSettingsFile: c.Providers, ABTestConfigFile: c.Routes} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, err
		}
		out[name] = append(b, '\n')
	}
	return out, nil
}
