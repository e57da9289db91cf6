package console

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/careerpath/llmgateway/config"
)

// ReloadEvent is one configuration load or reload attempt.
type ReloadEvent struct {
	Time time.Time `json:"time"`
	// Reason is what asked for it: "start", "SIGHUP", "file change",
	// "admin API".
	Reason string `json:"reason"`
	// Version is the configuration version loaded; for a refused reload,
	// the version that stayed live.
	Version string `json:"version"`
	// Applied is false for a refused reload; Error then says why.
	Applied bool   `json:"applied"`
	Error   string `json:"error,omitempty"`
}

// configVersion is a configuration as the console shows it: redacted.
type configVersion struct {
	version  string
	loadedAt time.Time
	doc      map[string]any
}

// ConfigApplied notes that cfg went live at t, for reason.
func (c *Console) ConfigApplied(cfg *config.Config, reason string, t time.Time) {
	v := &configVersion{version: cfg.Version, loadedAt: t.UTC(), doc: Redact(cfg)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloads = appendBounded(c.reloads, ReloadEvent{Time: t.UTC(), Reason: reason, Version: cfg.Version, Applied: true})
	if c.configs[1] != nil && c.configs[1].version == cfg.Version {
		return
	}
	c.configs[0], c.configs[1] = c.configs[1], v
}

// ConfigRefused notes that a reload was refused at t; live is the
// version that stayed live.
func (c *Console) ConfigRefused(live, reason string, err error, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloads = appendBounded(c.reloads, ReloadEvent{Time: t.UTC(), Reason: reason, Version: live, Error: err.Error()})
}

// secretWords mark keys whose values are never shown, wherever they sit.
var secretWords = []string{"key", "secret", "token", "password", "passwd", "credential", "auth", "cookie", "signature"}

// redacted replaces a secret value.
const redacted = "[redacted]"

// Redact returns cfg as the console shows it: its files' JSON, with the
// values of every header, every field whose name suggests a secret (other
// than the names of environment variables and files holding one), URL
// credentials and query strings replaced, and the clients' key hashes
// removed.
func Redact(cfg *config.Config) map[string]any {
	doc := map[string]any{}
	put := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			doc[name] = "unavailable: " + err.Error()
			return
		}
		var m any
		if err := json.Unmarshal(b, &m); err != nil {
			doc[name] = "unavailable: " + err.Error()
			return
		}
		doc[name] = redactValue("", m)
	}
	put(config.ProviderSettingsFile, cfg.Providers)
	put(config.ABTestConfigFile, cfg.Routes)
	put(config.RateLimitsFile, cfg.RateLimits)
	if cfg.Clients != nil {
		put(config.ClientsFile, cfg.Clients)
	}
	return doc
}

func redactValue(name string, v any) any {
	lower := strings.ToLower(name)
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, vv := range t {
			if lower == "headers" {
				out[k] = redacted
				continue
			}
			out[k] = redactValue(k, vv)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, vv := range t {
			out[i] = redactValue(name, vv)
		}
		return out
	case string:
		if strings.HasSuffix(lower, "_env") || strings.HasSuffix(lower, "_file") {
			return t // the name of where a secret is, not the secret
		}
		for _, w := range secretWords {
			if strings.Contains(lower, w) {
				return redacted
			}
		}
		if u, err := url.Parse(t); err == nil && u.Scheme != "" && u.Host != "" {
			if u.User != nil {
				u.User = url.User(redacted)
			}
			if u.RawQuery != "" {
				u.RawQuery = "redacted"
			}
			return u.String()
		}
		return t
	case nil, bool, float64:
		return v // secrets are strings
	default:
		return redacted
	}
}

// Change is one difference between two configurations.
type Change struct {
	// Path is where, as a JSON path ("$.provider_settings.json.providers.openai.timeout").
	Path string `json:"path"`
	// Old and New are the values; absent when the path was added or
	// removed.
	Old any `json:"old,omitempty"`
	New any `json:"new,omitempty"`
}

// Diff lists the differences between two redacted configurations, by path.
func Diff(a, b any) []Change {
	var out []Change
	diff("$", a, b, &out)
	slices.SortFunc(out, func(x, y Change) int { return strings.Compare(x.Path, y.Path) })
	return out
}

func diff(path string, a, b any, out *[]Change) {
	switch ta := a.(type) {
	case map[string]any:
		if tb, ok := b.(map[string]any); ok {
			for k, va := range ta {
				if vb, ok := tb[k]; ok {
					diff(path+"."+k, va, vb, out)
				} else {
					*out = append(*out, Change{Path: path + "." + k, Old: va})
				}
			}
			for k, vb := range tb {
				if _, ok := ta[k]; !ok {
					*out = append(*out, Change{Path: path + "." + k, New: vb})
				}
			}
			return
		}
	case []any:
		if tb, ok := b.([]any); ok && len(ta) == len(tb) {
			for i := range ta {
				diff(fmt.Sprintf("%s[%d]", path, i), ta[i], tb[i], out)
			}
			return
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		*out = append(*out, Change{Path: path, Old: a, New: b})
	}
}
