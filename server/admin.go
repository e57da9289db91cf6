package server

import (
	"encoding/json"
	"net/http"
	"sort"

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
	return mux
}

// breakerStatus is one provider's circuit breaker on the admin API.
type breakerStatus struct {
	Provider    string  `json:"provider"`
	State       string  `json:"state"`
	FailureRate float64 `json:"failure_rate"`
	Executions  uint    `json:"executions"`
}

// handleBreakers lists every provider's circuit breaker state.
func (s *Server) handleBreakers(w http.ResponseWriter, _ *http.Request) {
	rt := s.service.Runtime()
	out := []breakerStatus{}
	for name, g := range rt.Resilience.Guards() {
		m := g.BreakerMetrics()
		out = append(out, breakerStatus{Provider: name, State: telemetry.BreakerStateName(g.BreakerState()),
			FailureRate: m.FailureRate(), Executions: m.Executions()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"breakers": out})
}
