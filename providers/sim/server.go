// Package sim is the provider simulator: an HTTP server that speaks both the
// OpenAI Chat Completions and the Anthropic Messages wire formats, unary and
// streaming, with deterministic answers, configurable latency and injectable
// faults. Tests, benchmarks and the gateway's zero-config quick start run
// against it instead of the real vendors.
//
// Wire endpoints:
//
//	POST /v1/chat/completions   OpenAI chat.completion, or SSE chunks with stream:true
//	POST /v1/embeddings         OpenAI embeddings list, floats or base64 (embeddings.go)
//	GET  /v1/models             OpenAI model list (Anthropic's with an anthropic-version header)
//	POST /v1/messages           Anthropic message, or SSE events with stream:true
//	POST /v1beta/models/{model}:generateContent, :streamGenerateContent?alt=sse
//	                            Gemini GenerateContentResponse, or SSE (gemini.go)
//	POST /model/{id}/converse   Bedrock Converse answer (any SigV4 signature)
//	POST /model/{id}/converse-stream  Bedrock ConverseStream, binary event stream
//
// Control endpoints (JSON, not subject to the API key):
//
//	GET|PUT|PATCH /_sim/config       the [Config]; PUT replaces, PATCH merges
//	GET|PUT|POST|DELETE /_sim/fault  the installed [Fault]s; PUT replaces (object or array), POST appends
//	GET|DELETE /_sim/stats           the [Stats]; DELETE resets them
//	GET /healthz                     {"status":"ok"}
//
// The answer to a request depends only on its model, its last user message
// and max_tokens (see [Text]); one word is one output token. The hot path
// takes no lock: configuration and faults are read through atomic pointers,
// counters are atomics, and responses are hand-written into pooled buffers.
package sim

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
)

// Server is the simulator, an [http.Handler]. It is safe for concurrent use;
// its configuration and faults may be changed while it serves.
type Server struct {
	cfg    atomic.Pointer[Config]
	faults atomic.Pointer[faultList]
	stats  counters

	done      chan struct{}
	closeOnce sync.Once
}

// New returns a simulator with cfg. Negative durations count as zero and a
// zero AnswerTokens as [DefaultAnswerTokens]; use [Config.Validate] to
// refuse such values instead.
func New(cfg Config) *Server {
	s := &Server{done: make(chan struct{})}
	s.cfg.Store(&cfg)
	return s
}

// Config returns the current configuration.
func (s *Server) Config() Config { return *s.cfg.Load() }

// SetConfig validates cfg and makes it current for requests that start
// from now on.
func (s *Server) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.cfg.Store(&cfg)
	return nil
}

// Close releases every request that is hanging or waiting out a delay, by
// dropping its connection, and makes later ones fail the same way. It does
// not stop a listener; see [Start] for a server that owns one.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// ServeHTTP routes a request to the wire or control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathChatCompletions:
		s.stats.chat.Add(1)
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, formatOpenAI)
			return
		}
		s.serveChat(w, r)
	case PathMessages:
		s.stats.messages.Add(1)
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, formatAnthropic)
			return
		}
		s.serveMessages(w, r)
	case PathEmbeddings:
		s.stats.embeddings.Add(1)
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, formatOpenAI)
			return
		}
		s.serveEmbeddings(w, r)
	case pathModels:
		s.stats.models.Add(1)
		s.serveModels(w, r)
	case pathHealth:
		s.stats.health.Add(1)
		w.Header()["Content-Type"] = hdrJSON
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	default:
		if strings.HasPrefix(r.URL.Path, PathGemini+"/") {
			s.stats.other.Add(1)
			s.serveGemini(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, controlPrefix) {
			s.stats.control.Add(1)
			s.serveControl(w, r)
			return
		}
		if s.serveBedrock(w, r) {
			return
		}
		s.stats.other.Add(1)
		writeAPIError(w, formatOf(r), apiError{
			status: http.StatusNotFound, typ: notFoundType(formatOf(r)),
			message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")",
		}, "")
	}
}

// formatOf guesses the dialect of a request to an unknown path.
func formatOf(r *http.Request) wireFormat {
	if r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "" {
		return formatAnthropic
	}
	return formatOpenAI
}

func notFoundType(f wireFormat) string {
	if f == formatAnthropic {
		return anthropicwire.ErrNotFound
	}
	return openaiwire.TypeInvalidRequest
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, f wireFormat) {
	w.Header().Set("Allow", http.MethodPost)
	writeAPIError(w, f, apiError{
		status: http.StatusMethodNotAllowed, typ: notFoundType(f),
		message: "Method Not Allowed (" + r.Method + " " + r.URL.Path + ")",
	}, "")
}

// authorized checks the configured API key in the vendor's header.
func authorized(w http.ResponseWriter, r *http.Request, cfg *Config, f wireFormat) bool {
	if cfg.RequireAPIKey == "" {
		return true
	}
	var got string
	if f == formatAnthropic {
		got = r.Header.Get("x-api-key")
	} else {
		got = r.Header.Get("Authorization")
		const bearer = "Bearer "
		if len(got) > len(bearer) && strings.EqualFold(got[:len(bearer)], bearer) {
			got = strings.TrimSpace(got[len(bearer):])
		} else {
			got = ""
		}
	}
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(cfg.RequireAPIKey)) == 1 {
		return true
	}
	writeAPIError(w, f, authError(f, got == ""), "")
	return false
}

// readRequest reads the body into a pooled buffer, answering 413 or 400
// itself when that fails. The caller must putBuf the returned buffer.
func readRequest(w http.ResponseWriter, r *http.Request, f wireFormat) (*[]byte, bool) {
	bp := getBuf()
	err := readBody(r, bp)
	if err == nil {
		return bp, true
	}
	putBuf(bp)
	if errors.Is(err, errBodyTooLarge) {
		e := apiError{status: http.StatusRequestEntityTooLarge, typ: openaiwire.TypeInvalidRequest, message: "Request body too large."}
		if f == formatAnthropic {
			e.typ = anthropicwire.ErrRequestTooLarge
		}
		writeAPIError(w, f, e, "")
	} else {
		writeAPIError(w, f, badRequest("Could not read the request body: "+err.Error(), "", ""), "")
	}
	return nil, false
}

// exchange is one parsed wire request, ready to be answered.
type exchange struct {
	format       wireFormat
	path         string
	model        string
	stream       bool
	includeUsage bool
	ans          answer
	// openaiRich, when set, is the OpenAI answer instead of ans's words;
	// ans.n is then its number of pieces.
	openaiRich  *openaiRichAnswer
	inputTokens int
	created     int64
	id          string
	// pre is the OpenAI chunk prefix, built once per stream.
	pre []byte
	// rich, when set, is an Anthropic answer beyond one text block.
	rich *richAnswer
}

func (ex *exchange) init(f wireFormat, path string) {
	ex.format, ex.path = f, path
	prefix := "chatcmpl-"
	if f == formatAnthropic {
		prefix = "msg_01"
	}
	var buf [40]byte
	ex.id = string(appendID(buf[:0], prefix))
	ex.created = time.Now().Unix()
}

// respond answers a parsed request: fault, latency, then the answer.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, cfg *Config, ex *exchange) {
	s.stats.inFlight.Add(1)
	defer s.stats.inFlight.Add(-1)
	ctx := r.Context()
	f := s.matchFault(ex.path)
	if f != nil && f.kind == faultHang {
		select {
		case <-ctx.Done():
		case <-s.done:
			abort(w, false)
		}
		return
	}
	if !s.sleep(ctx, w, cfg.Latency) {
		return
	}
	disconnectAt, malformed := -1, false
	if f != nil {
		switch f.kind {
		case faultStatus:
			writeAPIError(w, ex.format, statusError(ex.format, f.Status, ex.model), f.RetryAfter)
			return
		case faultContextLength:
			writeAPIError(w, ex.format, contextLengthError(ex.format, ex.inputTokens), f.RetryAfter)
			return
		case faultQuota:
			writeAPIError(w, ex.format, quotaError(ex.format), f.RetryAfter)
			return
		case faultMalformed:
			if f.Malformed == MalformedHTML {
				writeHTML(w)
				return
			}
			malformed = true
		case faultDisconnect:
			disconnectAt = f.DisconnectAfterTokens
		}
	}
	if ex.stream {
		s.stats.streams.Add(1)
		s.writeStream(w, r, cfg, ex, disconnectAt, malformed)
		return
	}
	writeUnary(w, ex, disconnectAt >= 0, malformed)
}

// sleep waits d unless the request is canceled first (false) or the server
// is closed (false, after dropping the connection).
func (s *Server) sleep(ctx context.Context, w http.ResponseWriter, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	return s.wait(ctx, w, t)
}

// wait waits for t like sleep.
func (s *Server) wait(ctx context.Context, w http.ResponseWriter, t *time.Timer) bool {
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		abort(w, false)
		return false
	}
}

// abort drops the connection without finishing the response: what was
// written so far is flushed (when flush is true), then the connection is
// closed, so the client sees a body cut short. When the connection cannot
// be hijacked (HTTP/2, recorders) it panics with [http.ErrAbortHandler],
// which net/http turns into a stream reset.
func abort(w http.ResponseWriter, flush bool) {
	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush()
	}
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

const htmlPage = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// writeHTML answers 200 with an HTML page where JSON was expected.
func writeHTML(w http.ResponseWriter) {
	w.Header()["Content-Type"] = hdrHTML
	_, _ = w.Write([]byte(htmlPage))
}

// Start serves a new simulator with cfg on 127.0.0.1 on a free port, for
// tests and in-process use. It returns the server, its base URL (such as
// "http://127.0.0.1:41234", without /v1) and a stop function that closes
// the simulator, shuts the listener down and waits for the serving
// goroutines; stop may be called more than once.
func Start(cfg Config) (srv *Server, baseURL string, stop func(), err error) {
	if err := cfg.Validate(); err != nil {
		return nil, "", nil, err
	}
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv = New(cfg)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(ln)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if hs.Shutdown(ctx) != nil {
				_ = hs.Close()
			}
			<-served
		})
	}
	return srv, "http://" + ln.Addr().String(), stop, nil
}

var _ http.Handler = (*Server)(nil)
