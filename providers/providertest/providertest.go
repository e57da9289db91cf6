// Package providertest is the conformance suite every [providers.Provider]
// backend runs, so that all of them answer, stream and fail the same way.
//
// A backend package supplies a [Kit]: a constructor and the cassettes
// (recorded, real-shaped response bodies of its vendor) for a complete
// answer, a stream, each error class and the broken streams. The suite
// serves them from a real HTTP server (httptest) and checks what the
// backend makes of them: the answer and its usage, the stream's chunks and
// its one terminal chunk, the typed [providers.Error] of each failure, a
// cut-off stream as [providers.KindTruncated], and the failures no
// cassette can record (a timeout, a vendor that cannot be reached, a
// caller who gives up).
//
// Adding a backend is its package plus one call:
//
//	func TestConformance(t *testing.T) { providertest.Run(t, kit) }
package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// APIKey is the key the suite gives the backend; it must never appear in an
// error.
const APIKey = "sk-conformance-SECRET-0123456789"

// Model is the model the suite's requests name.
const Model = "conformance-model"

// RetryAfter is the back-off the rate-limit cassette asks for, in seconds,
// sent as Retry-After unless the cassette carries its own header.
const RetryAfter = 7

// Timeout is the per-attempt timeout the suite configures.
const Timeout = 300 * time.Millisecond

// Cassette is one recorded response.
type Cassette struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Header holds the response headers. Without a Content-Type the suite
	// sends text/event-stream for a body that starts with "event:" or
	// "data:", else application/json.
	Header http.Header
	// Body is the response body.
	Body []byte
}

// Load reads the recorded body dir/name into a cassette with status; an
// .html body is served as text/html.
func Load(t testing.TB, dir string, status int, name string) Cassette {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	c := Cassette{Status: status, Body: b}
	if filepath.Ext(name) == ".html" {
		c.Header = http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	}
	return c
}

// Answer is a successful exchange and what the backend must make of it.
type Answer struct {
	Cassette
	// Want is the answer: for a stream, Text is the deltas joined, and
	// the rest is the terminal chunk's.
	Want providers.Response
}

// Class is a kind of upstream failure a cassette records.
type Class string

// The error classes. Every kit records each of them except [Quota].
const (
	// RateLimited is HTTP 429: [providers.KindRateLimited] with the
	// Retry-After back-off.
	RateLimited Class = "rate_limited"
	// Overloaded is the vendor shedding load (529, 503):
	// [providers.KindOverloaded].
	Overloaded Class = "overloaded"
	// BadRequest is a request the vendor refuses: [providers.KindBadRequest].
	BadRequest Class = "bad_request"
	// Auth is the gateway's key rejected: [providers.KindAuth], without
	// the vendor's text.
	Auth Class = "auth"
	// ContextLength is a prompt too long for the model:
	// [providers.KindContextLength].
	ContextLength Class = "context_length"
	// Server is an internal error of the vendor: [providers.KindServer].
	Server Class = "server"
	// Malformed is an answer that is not the API's (an HTML error page of
	// a proxy): [providers.KindMalformed].
	Malformed Class = "malformed"
	// Quota is exhausted credit (OpenAI's insufficient_quota behind a
	// 429, Anthropic's billing_error): [providers.KindQuotaExhausted],
	// never retried. A vendor without one skips it.
	Quota Class = "quota"
)

var wantKinds = map[Class]providers.ErrorKind{
	RateLimited:   providers.KindRateLimited,
	Overloaded:    providers.KindOverloaded,
	BadRequest:    providers.KindBadRequest,
	Auth:          providers.KindAuth,
	ContextLength: providers.KindContextLength,
	Server:        providers.KindServer,
	Malformed:     providers.KindMalformed,
	Quota:         providers.KindQuotaExhausted,
}

// Options are what the suite configures a backend with.
type Options struct {
	// BaseURL is the fake vendor's root URL, without a path.
	BaseURL string
	// APIKey is [APIKey].
	APIKey string
	// Timeout is the per-attempt timeout.
	Timeout time.Duration
}

// Kit is what a backend package supplies to the suite.
type Kit struct {
	// New builds the backend under test, named "conformance", talking to
	// the fake vendor at o.BaseURL.
	New func(t *testing.T, o Options) providers.Provider
	// Path is the URL path the backend posts to, e.g.
	// "/v1/chat/completions".
	Path string
	// StreamPath is the URL path of a streamed request, when the vendor
	// streams on a path of its own; empty means Path.
	StreamPath string
	// CheckRequest, when set, checks what the backend sent instead of the
	// suite's default check (a JSON body naming the model and the stream
	// flag, the API key in a header), for vendors whose requests are
	// shaped otherwise (the model in the path, signed requests).
	CheckRequest func(t *testing.T, r Sent, stream bool)
	// ModelInPath says the vendor takes the model and the choice of a
	// stream in the URL path (Gemini), not in the body.
	ModelInPath bool
	// Complete is a unary answer; Stream a streamed one.
	Complete, Stream Answer
	// Errors records each error class.
	Errors map[Class]Cassette
	// Truncated is a stream cut before its terminal event, after some
	// text.
	Truncated Cassette
	// StreamError is a stream that reports an error in an event after
	// some text; empty for a server that sends no error events (the
	// simulator).
	StreamError Cassette
	// Rich are exchanges beyond plain text; see [RichCase].
	Rich []RichCase
}

// Request is the request the suite sends.
func Request() *providers.Request {
	return &providers.Request{
		Model: Model,
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: "You are a career coach."},
			{Role: providers.RoleUser, Content: "How do I move from data analysis into data engineering?"},
		},
		MaxTokens: 256,
	}
}

// Run runs the suite against the backend kit builds.
func Run(t *testing.T, kit Kit) {
	t.Run("Complete", func(t *testing.T) { testComplete(t, kit) })
	t.Run("Stream", func(t *testing.T) { testStream(t, kit) })
	for _, class := range []Class{RateLimited, Overloaded, BadRequest, Auth, ContextLength, Server, Malformed, Quota} {
		t.Run("Error/"+string(class), func(t *testing.T) { testError(t, kit, class) })
	}
	t.Run("Truncated", func(t *testing.T) { testTruncated(t, kit) })
	t.Run("StreamError", func(t *testing.T) { testStreamError(t, kit) })
	t.Run("Timeout", func(t *testing.T) { testTimeout(t, kit) })
	t.Run("Unavailable", func(t *testing.T) { testUnavailable(t, kit) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, kit) })
	runRich(t, kit)
}

// vendor is the fake vendor: it serves one cassette, or hangs, and records
// the requests it gets.
type vendor struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	cassette Cassette
	hang     bool
	requests []recorded
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

// Sent is one request the backend sent to the fake vendor.
type Sent struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func newVendor(t *testing.T) *vendor {
	v := &vendor{t: t}
	v.srv = httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *vendor) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.requests = append(v.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
	c, hang := v.cassette, v.hang
	v.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	for k, vs := range c.Header {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		ct := "application/json"
		if b := bytes.TrimSpace(c.Body); bytes.HasPrefix(b, []byte("event:")) || bytes.HasPrefix(b, []byte("data:")) {
			ct = "text/event-stream"
		}
		w.Header().Set("Content-Type", ct)
	}
	status := c.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(c.Body)
}

func (v *vendor) serveCassette(c Cassette) {
	v.mu.Lock()
	v.cassette = c
	v.mu.Unlock()
}

func (v *vendor) lastRequest() recorded {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.requests) == 0 {
		v.t.Fatal("the backend sent no request")
	}
	return v.requests[len(v.requests)-1]
}

// setup starts a vendor serving c and builds the backend against it.
func setup(t *testing.T, kit Kit, c Cassette) (*vendor, providers.Provider) {
	v := newVendor(t)
	v.serveCassette(c)
	p := kit.New(t, Options{BaseURL: v.srv.URL, APIKey: APIKey, Timeout: Timeout})
	if p.Name() != "conformance" {
		t.Fatalf("Name() = %q, want %q", p.Name(), "conformance")
	}
	return v, p
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func testComplete(t *testing.T, kit Kit) {
	v, p := setup(t, kit, kit.Complete.Cassette)
	got, err := p.Complete(ctx(t), Request())
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if *got != kit.Complete.Want {
		t.Errorf("Complete = %+v\nwant       %+v", *got, kit.Complete.Want)
	}
	checkRequest(t, kit, v.lastRequest(), false)
}

func testStream(t *testing.T, kit Kit) {
	v, p := setup(t, kit, kit.Stream.Cassette)
	s, err := p.Stream(ctx(t), Request())
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer func() { _ = s.Close() }()
	var text strings.Builder
	var final *providers.Chunk
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv after %q: %v", text.String(), err)
		}
		if final != nil {
			t.Fatalf("chunk %+v after the terminal chunk", c)
		}
		text.WriteString(c.Delta)
		if c.Done {
			final = &c
		}
	}
	if final == nil {
		t.Fatal("io.EOF without a terminal chunk")
	}
	got := providers.Response{ID: final.ID, Model: final.Model, Text: text.String(), FinishReason: final.FinishReason, Usage: final.Usage}
	if got != kit.Stream.Want {
		t.Errorf("stream = %+v\nwant     %+v", got, kit.Stream.Want)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after the end = %v, want io.EOF", err)
	}
	checkRequest(t, kit, v.lastRequest(), true)
}

// checkRequest checks what the backend sent: a POST of JSON to the kit's
// path, naming the model, asking for a stream when it is one.
func checkRequest(t *testing.T, kit Kit, r recorded, stream bool) {
	t.Helper()
	if kit.CheckRequest != nil {
		kit.CheckRequest(t, Sent{Method: r.method, Path: r.path, Header: r.header, Body: r.body}, stream)
		return
	}
	path := kit.Path
	if stream && kit.StreamPath != "" {
		path = kit.StreamPath
	}
	if r.method != http.MethodPost || r.path != path {
		t.Errorf("request %s %s, want POST %s", r.method, r.path, path)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("request Content-Type %q", ct)
	}
	var body struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("request body is not JSON: %v: %s", err, r.body)
	}
	if kit.ModelInPath {
		if !strings.Contains(path, "/"+Model+":") {
			t.Errorf("the kit's path %q does not name the model %q", path, Model)
		}
	} else if body.Model != Model || body.Stream != stream {
		t.Errorf("request model %q stream %v, want %q %v: %s", body.Model, body.Stream, Model, stream, r.body)
	}
	if !strings.Contains(r.header.Get("Authorization")+r.header.Get("X-Api-Key")+r.header.Get("Api-Key")+r.header.Get("X-Goog-Api-Key"), APIKey) {
		t.Errorf("the request does not carry the API key: %v", r.header)
	}
}

func testError(t *testing.T, kit Kit, class Class) {
	c, ok := kit.Errors[class]
	want := wantKinds[class]
	switch {
	case !ok && class == Quota:
		t.Skip("the vendor has no quota error of its own")
	case !ok:
		t.Fatalf("the kit has no %s cassette", class)
	}
	var wantRetry time.Duration // 0: any positive back-off
	if class == RateLimited && c.Header.Get("Retry-After") == "" && c.Header.Get("Retry-After-Ms") == "" {
		c.Header = c.Header.Clone()
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header.Set("Retry-After", strconv.Itoa(RetryAfter))
		wantRetry = RetryAfter * time.Second
	}
	_, p := setup(t, kit, c)
	_, err := p.Complete(ctx(t), Request())
	checkError(t, "Complete", err, want, c, class, wantRetry)
	s, err := p.Stream(ctx(t), Request())
	if err == nil {
		// A backend may only find out on the first Recv.
		defer func() { _ = s.Close() }()
		_, err = s.Recv()
	}
	checkError(t, "Stream", err, want, c, class, wantRetry)
}

func checkError(t *testing.T, call string, err error, want providers.ErrorKind, c Cassette, class Class, wantRetry time.Duration) {
	t.Helper()
	pe, ok := providers.AsError(err)
	if !ok {
		t.Fatalf("%s: %v (%T), want a *providers.Error", call, err, err)
	}
	if pe.Kind != want {
		t.Errorf("%s: kind %v, want %v: %v", call, pe.Kind, want, err)
	}
	if pe.Provider != "conformance" {
		t.Errorf("%s: provider %q", call, pe.Provider)
	}
	if status := c.Status; status != 0 && status != http.StatusOK && pe.StatusCode != status {
		t.Errorf("%s: status %d, want %d", call, pe.StatusCode, status)
	}
	if strings.Contains(err.Error(), APIKey) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("%s: the error shows a key: %v", call, err)
	}
	switch class {
	case RateLimited:
		if pe.RetryAfter <= 0 || (wantRetry > 0 && pe.RetryAfter != wantRetry) {
			t.Errorf("%s: retry-after %v, want %v", call, pe.RetryAfter, wantRetry)
		}
	case Auth:
		if pe.Kind.Retryable() {
			t.Errorf("%s: a rejected key is retryable", call)
		}
	case Quota:
		if pe.Code == "" {
			t.Errorf("%s: the vendor's quota code is lost: %+v", call, pe)
		}
	}
}

// drain reads s to its end, returning the text and the error that ended
// it.
func drain(s providers.Stream) (string, bool, error) {
	var text strings.Builder
	done := false
	for {
		c, err := s.Recv()
		if err != nil {
			return text.String(), done, err
		}
		text.WriteString(c.Delta)
		done = done || c.Done
	}
}

func testTruncated(t *testing.T, kit Kit) {
	_, p := setup(t, kit, kit.Truncated)
	s, err := p.Stream(ctx(t), Request())
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer func() { _ = s.Close() }()
	text, done, err := drain(s)
	if done {
		t.Fatal("a cut-off stream has a terminal chunk")
	}
	if errors.Is(err, io.EOF) || providers.KindOf(err) != providers.KindTruncated {
		t.Fatalf("after %q: %v, want a truncation error", text, err)
	}
	if text == "" {
		t.Error("the text before the cut was lost")
	}
}

func testStreamError(t *testing.T, kit Kit) {
	if kit.StreamError.Body == nil {
		t.Skip("the server sends no error events")
	}
	_, p := setup(t, kit, kit.StreamError)
	s, err := p.Stream(ctx(t), Request())
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer func() { _ = s.Close() }()
	text, done, err := drain(s)
	pe, ok := providers.AsError(err)
	if done || !ok || errors.Is(err, io.EOF) || pe.Kind == providers.KindTruncated {
		t.Fatalf("after %q (done %v): %v, want the error the event reports", text, done, err)
	}
	if !pe.Retryable() {
		t.Errorf("a mid-stream vendor error is not retryable: %v", err)
	}
}

func testTimeout(t *testing.T, kit Kit) {
	v, p := setup(t, kit, Cassette{})
	v.mu.Lock()
	v.hang = true
	v.mu.Unlock()
	start := time.Now()
	_, err := p.Complete(ctx(t), Request())
	if k := providers.KindOf(err); k != providers.KindTimeout {
		t.Errorf("Complete: %v (kind %v), want a timeout", err, k)
	}
	s, err := p.Stream(ctx(t), Request())
	if err == nil {
		defer func() { _ = s.Close() }()
		_, err = s.Recv()
	}
	if k := providers.KindOf(err); k != providers.KindTimeout {
		t.Errorf("Stream: %v (kind %v), want a timeout", err, k)
	}
	if d := time.Since(start); d > 10*Timeout {
		t.Errorf("two attempts took %v with a %v timeout", d, Timeout)
	}
}

func testUnavailable(t *testing.T, kit Kit) {
	v, p := setup(t, kit, Cassette{})
	v.srv.Close() // nothing listens any more
	_, err := p.Complete(ctx(t), Request())
	if k := providers.KindOf(err); k != providers.KindUnavailable {
		t.Errorf("Complete: %v (kind %v), want unavailable", err, k)
	}
	s, err := p.Stream(ctx(t), Request())
	if err == nil {
		defer func() { _ = s.Close() }()
		_, err = s.Recv()
	}
	if k := providers.KindOf(err); k != providers.KindUnavailable {
		t.Errorf("Stream: %v (kind %v), want unavailable", err, k)
	}
}

func testCanceled(t *testing.T, kit Kit) {
	v, p := setup(t, kit, Cassette{})
	v.mu.Lock()
	v.hang = true
	v.mu.Unlock()
	c, cancel := context.WithTimeout(context.Background(), Timeout/5)
	defer cancel()
	_, err := p.Complete(c, Request())
	if k := providers.KindOf(err); k != providers.KindCanceled {
		t.Errorf("Complete: %v (kind %v), want canceled", err, k)
	}
}
