package console

import (
	"embed"
	"io/fs"
	"net/http"
	"slices"
	"time"
)

// Path is where the console is served on the admin port.
const Path = "/console/"

//go:embed dist
var dist embed.FS

// ConfigView is /console/api/config.
type ConfigView struct {
	header
	// Status is the reloader's status: source, version, load time, the
	// last attempt and its error.
	Status any `json:"status"`
	// Version and LoadedAt are the active configuration's.
	Version  string    `json:"version"`
	LoadedAt time.Time `json:"loaded_at"`
	// Config is the active configuration, redacted (see [Redact]).
	Config map[string]any `json:"config"`
	// History lists loads and reload attempts, newest first.
	History []ReloadEvent `json:"history"`
	// Diff is the change from the previous version to the active one.
	Diff *ConfigDiff `json:"diff"`
}

// ConfigDiff is the difference between two configuration versions.
type ConfigDiff struct {
	From    string   `json:"from"`
	To      string   `json:"to"`
	Changes []Change `json:"changes"`
}

func (c *Console) configView(src *Sources) ConfigView {
	v := ConfigView{header: c.header(c.now(), ScopeReplica), History: []ReloadEvent{}}
	if src.Reload != nil {
		v.Status = src.Reload()
	}
	c.mu.Lock()
	prev, cur := c.configs[0], c.configs[1]
	v.History = append(v.History, c.reloads...)
	c.mu.Unlock()
	slices.Reverse(v.History)
	if cur != nil {
		v.Version, v.LoadedAt, v.Config = cur.version, cur.loadedAt, cur.doc
	}
	if prev != nil && cur != nil {
		v.Diff = &ConfigDiff{From: prev.version, To: cur.version, Changes: Diff(prev.doc, cur.doc)}
		if v.Diff.Changes == nil {
			v.Diff.Changes = []Change{}
		}
	}
	return v
}

// Handler serves the console's pages and JSON API under [Path]. It does
// not check access: wrap it (with the rest of the admin port) in [Guard].
func (c *Console) Handler(src Sources) http.Handler {
	mux := http.NewServeMux()
	withSpan := func(f func(w http.ResponseWriter, r *http.Request, sp span)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sp, ok := spanOf(r)
			if !ok {
				badRequest(w, "range must be 1h or 24h")
				return
			}
			f(w, r, sp)
		}
	}
	mux.HandleFunc("GET /console/api/overview", withSpan(func(w http.ResponseWriter, _ *http.Request, sp span) {
		writeJSON(w, http.StatusOK, c.overview(sp))
	}))
	mux.HandleFunc("GET /console/api/providers", withSpan(func(w http.ResponseWriter, _ *http.Request, sp span) {
		writeJSON(w, http.StatusOK, c.providers(sp, &src))
	}))
	mux.HandleFunc("GET /console/api/experiments", withSpan(func(w http.ResponseWriter, r *http.Request, sp span) {
		writeJSON(w, http.StatusOK, c.experiments(r.Context(), sp, &src))
	}))
	mux.HandleFunc("GET /console/api/usage", func(w http.ResponseWriter, r *http.Request) {
		u, err := c.usage(r.Context(), r, &src)
		if err != nil {
			badRequest(w, err.Error())
			return
		}
		if r.URL.Query().Get("format") == "csv" {
			writeUsageCSV(w, u)
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
	mux.HandleFunc("GET /console/api/config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, c.configView(&src))
	})
	mux.HandleFunc("GET /console/api/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.recentCalls(r))
	})
	mux.HandleFunc("GET /console/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such console API endpoint"})
	})
	assets, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embedded directory is there by construction
	}
	files := http.StripPrefix("/console/", http.FileServerFS(assets))
	mux.Handle("GET /console/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	}))
	return mux
}
