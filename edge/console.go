package edge

import (
	"net/http"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/console"
)

// guardAdmin puts the admin port behind the admin token (loopback only
// without one), the console mounted; health, readiness and metrics stay
// open.
func (s *Server) guardAdmin(mux *http.ServeMux) http.Handler {
	if s.opts.Console != nil {
		mux.Handle(console.Path, s.opts.Console.Handler(s.service.ConsoleSources(s.reload)))
	}
	open := func(path string) bool { return path == "/healthz" || path == "/readyz" || path == "/metrics" }
	return console.Guard(s.opts.AdminToken, open, mux)
}

// noteReload tells the console of a reload attempt.
func (s *Server) noteReload(cfg *config.Config, live, reason string, err error) {
	if s.opts.Console == nil {
		return
	}
	if err != nil {
		s.opts.Console.ConfigRefused(live, reason, err, time.Now())
		return
	}
	s.opts.Console.ConfigApplied(cfg, reason, time.Now())
}
