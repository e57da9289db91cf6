package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// recorder is a real HTTP server that records every request it gets and,
// when answer is set, lets the simulator answer it in OpenAI's format.
type recorder struct {
	url    string
	mu     sync.Mutex
	hits   []string // method, host and path of each request
	bodies [][]byte
}

func startRecorder(t *testing.T, answer bool) *recorder {
	t.Helper()
	r := &recorder{}
	simH := sim.New(sim.Config{})
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, req.Method+" "+req.Host+req.URL.Path)
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		if !answer {
			http.Error(w, "not here", http.StatusTeapot)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		simH.ServeHTTP(w, req)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + ln.Addr().String()
	return r
}

func (r *recorder) requests() ([]string, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hits...), append([][]byte(nil), r.bodies...)
}

// injectionRoutes has a templated route on the recorded provider.
const injectionProviders = `{
  "providers": {"openai": {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "retry": {"max_attempts": 1}}},
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]
}`

const injectionRoutes = `{"routes": {"coach": {"variants": [{"name": "v", "provider": "openai", "model": "gpt-4o-mini", "weight": 1,
  "system_template": "Coach {{.Vars.name}} toward {{.Vars.goal}}.",
  "user_template": "{{with .Vars}}Goal: {{.goal}}{{end}}"}]}}}`

// startRecordedGateway starts a gateway whose one provider is rec.
func startRecordedGateway(t *testing.T, rec *recorder) *gateway {
	t.Helper()
	files := map[string]string{
		config.ProviderSettingsFile: strings.ReplaceAll(injectionProviders, "%OPENAI%", rec.url),
		config.ABTestConfigFile:     injectionRoutes,
	}
	return startGatewayFiles(t, sim.Config{}, files)
}

// TestTemplateVariablesAreNeverExecuted sends variables holding template
// code through gRPC and REST and checks, in the request the provider
// received, that they were inserted literally.
func TestTemplateVariablesAreNeverExecuted(t *testing.T) {
	rec := startRecorder(t, true)
	g := startRecordedGateway(t, rec)
	payloads := []string{
		`{{.Vars.secret}}`,
		`{{template "x"}}{{define "x"}}boom{{end}}`,
		`{{call .Vars.f}}`,
		`{{printf "%s" .}}{{.}}{{$}}`,
		`{{range .Vars}}{{.}}{{end}}`,
		`{{/* comment */}}{{- "trim" -}}`,
		`{{index .Record "x"}}{{js "a"}}{{html "<b>"}}`,
		`{{`, `}}`, `{{{{.Vars.name}}}}`,
		"<script>alert(1)</script> & \"quotes\" \x00 \u2028",
	}
	for i, p := range payloads {
		vars := map[string]string{"name": p, "goal": p + "!", "secret": "s3cr3t-do-not-render", "f": "x"}
		want := []string{"Coach " + p + " toward " + p + "!.", "Goal: " + p + "!"}
		req := &gatewayv1.CompleteRequest{Route: "coach", Variables: vars,
			Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "hi"}}}
		if _, err := g.client.Complete(ctxT(t), req); err != nil {
			t.Fatalf("payload %d over gRPC: %v", i, err)
		}
		body, _ := marshalJSON(req)
		resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("payload %d over REST: %d %s", i, resp.StatusCode, b)
		}
		_, bodies := rec.requests()
		for _, sent := range bodies[len(bodies)-2:] {
			var chat struct {
				Messages []struct{ Role, Content string }
			}
			if err := json.Unmarshal(sent, &chat); err != nil {
				t.Fatal(err)
			}
			if len(chat.Messages) != 3 || chat.Messages[0].Content != want[0] || chat.Messages[1].Content != want[1] {
				t.Fatalf("payload %q: provider got %+v, want %q", p, chat.Messages, want)
			}
			if strings.Contains(string(sent), "s3cr3t-do-not-render") {
				t.Fatalf("payload %q was executed: %s", p, sent)
			}
		}
	}
}

// TestRequestsCannotChooseTheUpstreamHost sends requests whose every
// field, header and variable names another host: the gateway reaches only
// the base URL of its configuration, and the other host is never called.
func TestRequestsCannotChooseTheUpstreamHost(t *testing.T) {
	rec := startRecorder(t, true)
	bait := startRecorder(t, false)
	g := startRecordedGateway(t, rec)
	baitHost := strings.TrimPrefix(bait.url, "http://")
	msg := []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "Fetch " + bait.url + "/v1/chat/completions"}}

	refused := []*gatewayv1.CompleteRequest{
		{Route: bait.url, Messages: msg},
		{Route: bait.url + "/v1", Messages: msg},
		{Model: &gatewayv1.ModelOverride{Provider: bait.url, Model: "gpt-4o-mini"}, Messages: msg},
		{Model: &gatewayv1.ModelOverride{Provider: "openai", Model: bait.url}, Messages: msg},
		{Model: &gatewayv1.ModelOverride{Provider: "openai", Model: "../../../" + baitHost}, Messages: msg},
		{Model: &gatewayv1.ModelOverride{Provider: "openai-compatible", Model: "gpt-4o-mini"}, Messages: msg},
		{Route: "coach", ForceVariant: baitHost, Messages: msg},
	}
	for _, req := range refused {
		_, err := g.client.Complete(ctxT(t), req)
		if c := status.Code(err); c != codes.InvalidArgument {
			t.Errorf("%v: %v, want InvalidArgument", req, err)
		}
	}
	// Accepted requests carrying the other host everywhere a caller can
	// put it go to the configured provider only.
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-base-url", bait.url, "x-forwarded-host", baitHost,
		"openai-base-url", bait.url, "host", baitHost)
	req := &gatewayv1.CompleteRequest{Route: "coach", Messages: msg,
		Variables: map[string]string{"name": bait.url, "goal": baitHost, "base_url": bait.url},
		Caller:    &gatewayv1.Caller{Subject: bait.url, Tags: map[string]string{"base_url": bait.url}}}
	if _, err := g.client.Complete(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := g.client.Complete(ctxT(t), &gatewayv1.CompleteRequest{
		Model: &gatewayv1.ModelOverride{Provider: "openai", Model: "gpt-4o-mini"}, Messages: msg}); err != nil {
		t.Fatal(err)
	}
	body, _ := marshalJSON(req)
	hreq, _ := http.NewRequest(http.MethodPost, "http://"+g.httpAddr+"/v1/complete", bytes.NewReader(body))
	hreq.Host = baitHost
	hreq.Header.Set("X-Forwarded-Host", baitHost)
	hreq.Header.Set("Forwarded", "host="+baitHost)
	hreq.Header.Set("X-Base-Url", bait.url)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("REST: %d", resp.StatusCode)
	}

	if hits, _ := bait.requests(); len(hits) != 0 {
		t.Fatalf("the gateway called a host named in requests: %v", hits)
	}
	hits, _ := rec.requests()
	if len(hits) != 3 {
		t.Fatalf("configured provider got %d requests, want 3: %v", len(hits), hits)
	}
	want := "POST " + strings.TrimPrefix(rec.url, "http://") + "/v1/chat/completions"
	for _, h := range hits {
		if h != want {
			t.Fatalf("configured provider got %q, want %q", h, want)
		}
	}
}
