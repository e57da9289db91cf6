package edge

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sort"

	"github.com/careerpath/llmgateway/gateway"
	"github.com/careerpath/llmgateway/internal/strictjson"
	"github.com/careerpath/llmgateway/telemetry"
)

// adminHandler serves the admin port: liveness at /healthz, readiness at
// /readyz (not ready before start and once shutdown begins, so that load
// balancers stop sending work first).
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics.Handler())
	}
	mux.HandleFunc("GET /admin/breakers", s.handleBreakers)
	mux.HandleFunc("GET /admin/config", s.handleConfig)
	mux.HandleFunc("POST /admin/config/reload", s.handleReload)
	if s.opts.LogLevel != nil {
		mux.HandleFunc("GET /admin/log-level", s.handleLogLevel)
		mux.HandleFunc("PUT /admin/log-level", s.handleLogLevel)
	}
	if s.opts.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return s.guardAdmin(mux)
}

// handleConfig shows the active configuration's version and load time and
// the last reload attempt.
func (s *Server) handleConfig(w http.ResponseWriter, _ *http.Request) {
	if s.opts.SyncStatus == nil {
		writeJSON(w, http.StatusOK, s.reload.Status())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		gateway.ReloadStatus
		Sync any `json:"sync"`
	}{s.reload.Status(), s.opts.SyncStatus()})
}

// handleReload reloads the configuration directory now: 200 with the new
// status when it was applied or unchanged, 422 with the reasons when it
// was refused (the last good configuration stays live), 409 when there is
// no directory to reload.
func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	changed, err := s.reload.Reload(r.Context(), "admin API")
	st := s.reload.Status()
	switch {
	case errors.Is(err, gateway.ErrNoConfigDir):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "status": st})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"changed": changed, "status": st})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// breakerStatus is one provider's circuit breaker on the admin API.
type breakerStatus struct {
	Provider    string  `json:"provider"`
	State       string  `json:"state"`
	FailureRate float64 `json:"failure_rate"`
	Executions  uint    `json:"executions"`
	// CooldownSeconds is how long the provider stays skipped after a 429
	// with a Retry-After; 0 when it is not cooled down.
	CooldownSeconds float64 `json:"cooldown_seconds"`
}

// handleBreakers lists every provider's circuit breaker state and
// cooldown.
func (s *Server) handleBreakers(w http.ResponseWriter, r *http.Request) {
	rt := s.service.Runtime()
	out := []breakerStatus{}
	for name, g := range rt.Resilience.Guards() {
		m := g.BreakerMetrics()
		out = append(out, breakerStatus{Provider: name, State: telemetry.BreakerStateName(g.BreakerState()),
			FailureRate: m.FailureRate(), Executions: m.Executions(), CooldownSeconds: g.Cooldown(r.Context()).Seconds()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	writeJSON(w, http.StatusOK, map[string]any{"breakers": out})
}

// handleLogLevel shows the log level (GET) or changes it at once (PUT with
// {"level": "debug"|"info"|"warn"|"error"}); a level it does not know is
// refused with 400 and changes nothing.
func (s *Server) handleLogLevel(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		var body struct {
			Level string `json:"level"`
		}
		var lvl slog.Level
		if err := strictjson.DecodeReader(io.LimitReader(r.Body, 1<<10), &body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body must be {\"level\": \"debug|info|warn|error\"}"})
			return
		}
		if err := lvl.UnmarshalText([]byte(body.Level)); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		if old := s.opts.LogLevel.Level(); old != lvl {
			s.opts.LogLevel.Set(lvl)
			s.log.Warn("log level changed", "from", old.String(), "to", lvl.String())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"level": s.opts.LogLevel.Level().String()})
}
