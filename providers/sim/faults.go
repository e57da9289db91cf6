package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// The wire paths a [Fault] can be limited to.
const (
	PathChatCompletions = "/v1/chat/completions"
	PathMessages        = "/v1/messages"
)

// Malformed says how a [Fault] breaks a successful answer.
type Malformed string

// The kinds of malformed answer.
const (
	// MalformedNone leaves answers well-formed.
	MalformedNone Malformed = ""
	// MalformedHTML answers 200 with an HTML page, as a misconfigured proxy
	// does.
	MalformedHTML Malformed = "html"
	// MalformedJSON answers 200 with a JSON content type and a truncated
	// JSON body; on a stream, an event whose data is broken JSON, followed
	// by the normal terminal event.
	MalformedJSON Malformed = "json"
)

// UnmarshalJSON accepts "html", "json", "sse" (the same as "json"), "",
// true (the same as "json") and false.
func (m *Malformed) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true":
		*m = MalformedJSON
		return nil
	case "false", "null":
		*m = MalformedNone
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New(`malformed: must be "html", "json", "sse" or a boolean`)
	}
	switch Malformed(s) {
	case MalformedNone, MalformedHTML, MalformedJSON:
		*m = Malformed(s)
	case "sse":
		*m = MalformedJSON
	default:
		return fmt.Errorf(`malformed: unknown kind %q (want "html", "json" or "sse")`, s)
	}
	return nil
}

// Fault is one injected failure. Exactly one effect must be chosen: Status,
// ContextLength, InsufficientQuota, Hang, Disconnect (or
// DisconnectAfterTokens > 0) or Malformed. The others narrow which
// requests it hits.
//
// In JSON the keys are snake_case; the presence of disconnect_after_tokens,
// even 0, selects the disconnect effect:
//
//	{"status":429,"retry_after":"2","count":3,"path":"/v1/messages"}
//	{"disconnect_after_tokens":5,"probability":0.1}
type Fault struct {
	// Status answers with this HTTP status (400–599) and the vendor's error
	// body for it: 429 rate limit, 529 overloaded, 500 server error, …
	Status int
	// RetryAfter, when not empty, is sent verbatim as the Retry-After
	// header with a Status or ContextLength error.
	RetryAfter string
	// ContextLength answers 400 with the vendor's context-length error
	// (OpenAI code context_length_exceeded, Anthropic "prompt is too long").
	ContextLength bool
	// InsufficientQuota answers as an account out of credit does: OpenAI's
	// 429 with error type and code insufficient_quota, Anthropic's 402
	// billing_error.
	InsufficientQuota bool
	// Hang accepts the request and never answers until the client goes
	// away (or the server is closed).
	Hang bool
	// Disconnect answers 200 and drops the connection without the terminal
	// event: a stream after DisconnectAfterTokens content tokens, a unary
	// answer half-way through its body.
	Disconnect bool
	// DisconnectAfterTokens is the number of content tokens a stream gets
	// before the disconnect; a positive value implies Disconnect.
	DisconnectAfterTokens int
	// Malformed answers 200 with a broken body.
	Malformed Malformed
	// Probability in [0, 1] is the chance that a matching request is hit;
	// 0 means 1 (always).
	Probability float64
	// Count, when positive, hits only the next Count matching requests and
	// then removes the fault; 0 keeps it until cleared.
	Count int
	// Path, when not empty, limits the fault to one wire path:
	// [PathChatCompletions], [PathMessages], [PathGemini] or
	// [PathEmbeddings].
	Path string
}

// faultJSON is Fault's wire form.
type faultJSON struct {
	Status                int       `json:"status,omitempty"`
	RetryAfter            string    `json:"retry_after,omitempty"`
	ContextLength         bool      `json:"context_length,omitempty"`
	InsufficientQuota     bool      `json:"insufficient_quota,omitempty"`
	Hang                  bool      `json:"hang,omitempty"`
	Disconnect            bool      `json:"disconnect,omitempty"`
	DisconnectAfterTokens *int      `json:"disconnect_after_tokens,omitempty"`
	Malformed             Malformed `json:"malformed,omitempty"`
	Probability           float64   `json:"probability,omitempty"`
	Count                 int       `json:"count,omitempty"`
	Path                  string    `json:"path,omitempty"`
}

// MarshalJSON writes the snake_case form; a disconnect is always written as
// disconnect_after_tokens.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{
		Status: f.Status, RetryAfter: f.RetryAfter, ContextLength: f.ContextLength,
		Hang: f.Hang, Malformed: f.Malformed, Probability: f.Probability,
		Count: f.Count, Path: f.Path, InsufficientQuota: f.InsufficientQuota,
	}
	if f.disconnects() {
		n := f.DisconnectAfterTokens
		j.DisconnectAfterTokens = &n
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes strictly: unknown keys are errors.
func (f *Fault) UnmarshalJSON(data []byte) error {
	var j faultJSON
	if err := decodeStrict(data, &j); err != nil {
		return err
	}
	*f = Fault{
		Status: j.Status, RetryAfter: j.RetryAfter, ContextLength: j.ContextLength,
		Hang: j.Hang, Disconnect: j.Disconnect, Malformed: j.Malformed,
		Probability: j.Probability, Count: j.Count, Path: j.Path, InsufficientQuota: j.InsufficientQuota,
	}
	if j.DisconnectAfterTokens != nil {
		f.Disconnect = true
		f.DisconnectAfterTokens = *j.DisconnectAfterTokens
	}
	return nil
}

func (f *Fault) disconnects() bool { return f.Disconnect || f.DisconnectAfterTokens > 0 }

// Validate reports the first problem, naming the field by its JSON key.
func (f Fault) Validate() error {
	effects := 0
	for _, on := range []bool{f.Status != 0, f.ContextLength, f.InsufficientQuota, f.Hang, f.disconnects(), f.Malformed != MalformedNone} {
		if on {
			effects++
		}
	}
	switch {
	case effects == 0:
		return errors.New("fault: choose one of status, context_length, insufficient_quota, hang, disconnect_after_tokens, malformed")
	case effects > 1:
		return errors.New("fault: status, context_length, insufficient_quota, hang, disconnect_after_tokens and malformed exclude each other")
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("status: %d is not an HTTP error status (400–599)", f.Status)
	case f.DisconnectAfterTokens < 0:
		return errors.New("disconnect_after_tokens: must not be negative")
	case f.Malformed != MalformedNone && f.Malformed != MalformedHTML && f.Malformed != MalformedJSON:
		return fmt.Errorf("malformed: unknown kind %q", f.Malformed)
	case f.RetryAfter != "" && f.Status == 0 && !f.ContextLength && !f.InsufficientQuota:
		return errors.New("retry_after: only goes with status, context_length or insufficient_quota")
	case f.Probability < 0 || f.Probability > 1 || f.Probability != f.Probability:
		return errors.New("probability: must be between 0 and 1")
	case f.Count < 0:
		return errors.New("count: must not be negative")
	case f.Path != "" && f.Path != PathChatCompletions && f.Path != PathMessages && f.Path != PathGemini && f.Path != PathEmbeddings:
		return fmt.Errorf("path: must be empty, %q, %q, %q or %q", PathChatCompletions, PathMessages, PathGemini, PathEmbeddings)
	}
	return nil
}

// faultKind indexes the per-kind injection counters.
type faultKind uint8

const (
	faultStatus faultKind = iota
	faultContextLength
	faultHang
	faultDisconnect
	faultMalformed
	faultQuota
	numFaultKinds
)

var faultKindNames = [numFaultKinds]string{"status", "context_length", "hang", "disconnect", "malformed", "insufficient_quota"}

// activeFault is an installed fault with its remaining count.
type activeFault struct {
	Fault
	kind      faultKind
	remaining atomic.Int64 // meaningful when Count > 0
}

func newActiveFault(f Fault) *activeFault {
	a := &activeFault{Fault: f}
	switch {
	case f.Status != 0:
		a.kind = faultStatus
	case f.ContextLength:
		a.kind = faultContextLength
	case f.InsufficientQuota:
		a.kind = faultQuota
	case f.Hang:
		a.kind = faultHang
	case f.disconnects():
		a.kind = faultDisconnect
		a.Disconnect = true
	default:
		a.kind = faultMalformed
	}
	a.remaining.Store(int64(f.Count))
	return a
}

// faultList is the immutable set of installed faults; the first match wins.
type faultList []*activeFault

// SetFault replaces all installed faults with f.
func (s *Server) SetFault(f Fault) error { return s.SetFaults(f) }

// SetFaults replaces all installed faults with fs; for each request the
// first fault whose path matches and whose probability roll succeeds
// applies. No faults clears them.
func (s *Server) SetFaults(fs ...Fault) error {
	list, err := buildFaults(fs)
	if err != nil {
		return err
	}
	s.storeFaults(list)
	return nil
}

// AddFault installs f after the faults already installed.
func (s *Server) AddFault(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	a := newActiveFault(f)
	for {
		old := s.faults.Load()
		var next faultList
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, a)
		if s.faults.CompareAndSwap(old, &next) {
			return nil
		}
	}
}

// ClearFaults removes every installed fault.
func (s *Server) ClearFaults() { s.faults.Store(nil) }

// Faults returns the installed faults; a counted fault shows its remaining
// count.
func (s *Server) Faults() []Fault {
	p := s.faults.Load()
	if p == nil {
		return []Fault{}
	}
	out := make([]Fault, 0, len(*p))
	for _, a := range *p {
		f := a.Fault
		if f.Count > 0 {
			f.Count = int(max(a.remaining.Load(), 0))
		}
		out = append(out, f)
	}
	return out
}

func buildFaults(fs []Fault) (faultList, error) {
	list := make(faultList, 0, len(fs))
	for i, f := range fs {
		if err := f.Validate(); err != nil {
			if len(fs) > 1 {
				return nil, fmt.Errorf("fault %d: %w", i, err)
			}
			return nil, err
		}
		list = append(list, newActiveFault(f))
	}
	return list, nil
}

func (s *Server) storeFaults(list faultList) {
	if len(list) == 0 {
		s.faults.Store(nil)
		return
	}
	s.faults.Store(&list)
}

// matchFault returns the fault that applies to a request on path, or nil,
// and counts the injection. Without installed faults it is one atomic load.
func (s *Server) matchFault(path string) *activeFault {
	p := s.faults.Load()
	if p == nil {
		return nil
	}
	for _, a := range *p {
		if a.Path != "" && a.Path != path {
			continue
		}
		if a.Probability > 0 && a.Probability < 1 && rand.Float64() >= a.Probability {
			continue
		}
		if a.Count > 0 {
			n := a.remaining.Add(-1)
			if n < 0 {
				continue // used up by concurrent requests; removal is under way
			}
			if n == 0 {
				s.removeFault(a)
			}
		}
		s.stats.faults[a.kind].Add(1)
		return a
	}
	return nil
}

// removeFault uninstalls a, if it is still installed.
func (s *Server) removeFault(a *activeFault) {
	for {
		old := s.faults.Load()
		if old == nil {
			return
		}
		next := make(faultList, 0, len(*old))
		for _, x := range *old {
			if x != a {
				next = append(next, x)
			}
		}
		if len(next) == len(*old) {
			return
		}
		var np *faultList
		if len(next) > 0 {
			np = &next
		}
		if s.faults.CompareAndSwap(old, np) {
			return
		}
	}
}
