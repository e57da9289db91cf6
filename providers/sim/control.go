package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// serveControl answers the /_sim/ endpoints. They are plain JSON, take no
// API key and are not subject to faults or latency.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_sim/config":
		s.serveConfig(w, r)
	case "/_sim/fault":
		s.serveFault(w, r)
	case "/_sim/stats":
		switch r.Method {
		case http.MethodGet:
		case http.MethodDelete:
			s.ResetStats()
		default:
			controlError(w, http.StatusMethodNotAllowed, "use GET or DELETE")
			return
		}
		writeControlJSON(w, s.Stats())
	default:
		controlError(w, http.StatusNotFound, "no such control endpoint: "+r.URL.Path)
	}
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPatch:
		body, ok := readControlBody(w, r)
		if !ok {
			return
		}
		var cfg Config // PUT replaces: absent keys are zero
		if r.Method == http.MethodPatch {
			cfg = s.Config() // PATCH merges onto the live config
		}
		if err := cfg.UnmarshalJSON(body); err != nil {
			controlError(w, http.StatusBadRequest, "config: "+err.Error())
			return
		}
		if err := s.SetConfig(cfg); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, "use GET, PUT or PATCH")
		return
	}
	writeControlJSON(w, s.Config())
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodDelete:
		s.ClearFaults()
	case http.MethodPut, http.MethodPost:
		body, ok := readControlBody(w, r)
		if !ok {
			return
		}
		var fs []Fault
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '[' {
			if err := decodeStrict(trimmed, &fs); err != nil {
				controlError(w, http.StatusBadRequest, "fault: "+err.Error())
				return
			}
		} else {
			var f Fault
			if err := f.UnmarshalJSON(trimmed); err != nil {
				controlError(w, http.StatusBadRequest, "fault: "+err.Error())
				return
			}
			fs = []Fault{f}
		}
		var err error
		if r.Method == http.MethodPut {
			err = s.SetFaults(fs...)
		} else {
			err = s.addFaults(fs)
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, "use GET, PUT, POST or DELETE")
		return
	}
	writeControlJSON(w, s.Faults())
}

// addFaults validates all of fs before appending any.
func (s *Server) addFaults(fs []Fault) error {
	if _, err := buildFaults(fs); err != nil {
		return err
	}
	for _, f := range fs {
		if err := s.AddFault(f); err != nil {
			return err
		}
	}
	return nil
}

func readControlBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	bp := getBuf()
	defer putBuf(bp)
	if err := readBody(r, bp); err != nil {
		controlError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return nil, false
	}
	return bytes.Clone(*bp), true
}

func writeControlJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		controlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header()["Content-Type"] = hdrJSON
	_, _ = w.Write(append(b, '\n'))
}

// controlError writes {"error":"…"} with status.
func controlError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
