package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	_ "github.com/careerpath/llmgateway/providers/anthropic"
	_ "github.com/careerpath/llmgateway/providers/openai"
	"github.com/careerpath/llmgateway/providers/sim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testProviders are two real provider backends, each in front of its own
// simulator; %OPENAI% and %ANTHROPIC% are the simulators' URLs.
const testProviders = `{
  "providers": {
    "openai":    {"kind": "openai", "base_url": "%OPENAI%/v1", "api_key_env": "TEST_OPENAI_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}},
    "anthropic": {"kind": "anthropic", "base_url": "%ANTHROPIC%", "api_key_env": "TEST_ANTHROPIC_KEY", "timeout": "5s",
                  "retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "context_window": 128000,
     "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "context_window": 200000,
     "price": {"input_per_mtok": 0.8, "output_per_mtok": 4}}
  ]
}`

const testRoutes = `{
  "routes": {
    "career_advice": {"variants": [
      {"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1, "system_prompt": "You are a career coach."},
      {"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1, "system_prompt": "You are a career coach."}
    ]},
    "openai_only": {"variants": [{"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "weight": 1}]},
    "anthropic_only": {"variants": [{"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "weight": 1}]}
  }
}`

var testEnv = map[string]string{"TEST_OPENAI_KEY": "sk-test-openai", "TEST_ANTHROPIC_KEY": "sk-ant-test"}

// gateway is a running gateway (edge.Server over real sockets) in front
// of two simulators.
type gateway struct {
	url               string // http://host:port of the HTTP port
	openai, anthropic *sim.Server
}

// startGateway starts the simulators and a gateway with the test
// providers and routes plus extra config files (clients.json,
// rate_limits.json …).
func startGateway(t testing.TB, extra map[string]string) *gateway {
	t.Helper()
	g := &gateway{}
	oa, oaURL, stop1, err := sim.Start(sim.Config{RequireAPIKey: testEnv["TEST_OPENAI_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop1)
	an, anURL, stop2, err := sim.Start(sim.Config{RequireAPIKey: testEnv["TEST_ANTHROPIC_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop2)
	g.openai, g.anthropic = oa, an
	urls := strings.NewReplacer("%OPENAI%", oaURL, "%ANTHROPIC%", anURL)
	dir := t.TempDir()
	files := map[string]string{config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes}
	for k, v := range extra {
		files[k] = v
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(urls.Replace(body)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := core.BuildRuntime(cfg, core.RuntimeOptions{Getenv: func(k string) string { return testEnv[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	srv, err := edge.New(edge.Options{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Limits: edge.Limits{MaxRequestBytes: 64 << 10}, ShutdownGrace: 5 * time.Second,
	}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	_, httpAddr, _ := srv.Addrs()
	g.url = "http://" + httpAddr
	return g
}

// call is one HTTP exchange with the gateway.
type call struct {
	status  int
	header  http.Header
	trailer http.Header
	body    []byte
}

// post sends body to path with the given header pairs.
func (g *gateway) post(t *testing.T, path, body string, header ...string) call {
	t.Helper()
	return g.do(t, http.MethodPost, path, body, header...)
}

func (g *gateway) do(t *testing.T, method, path, body string, header ...string) call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return call{status: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, body: b}
}

// decode unmarshals c's body into a generic JSON value.
func (c call) decode(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(c.body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, c.body)
	}
	return v
}

// event is one server-sent event.
type event struct {
	name string
	data string
}

// events splits c's body into server-sent events, checking that every
// line is an "event:" or "data:" line and every event ends with a blank
// line.
func (c call) events(t *testing.T) []event {
	t.Helper()
	var out []event
	var cur event
	sc := bufio.NewScanner(bytes.NewReader(c.body))
	sc.Buffer(nil, 1<<20)
	open := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if !open {
				t.Fatalf("empty event in\n%s", c.body)
			}
			out = append(out, cur)
			cur, open = event{}, false
		case strings.HasPrefix(line, "event: "):
			cur.name, open = strings.TrimPrefix(line, "event: "), true
		case strings.HasPrefix(line, "data: "):
			if cur.data != "" {
				t.Fatalf("two data lines in one event:\n%s", c.body)
			}
			cur.data, open = strings.TrimPrefix(line, "data: "), true
		default:
			t.Fatalf("unexpected line %q in\n%s", line, c.body)
		}
	}
	if open {
		t.Fatalf("last event not terminated by a blank line:\n%s", c.body)
	}
	return out
}

// obj unmarshals an event's data.
func (e event) obj(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(e.data), &v); err != nil {
		t.Fatalf("event data is not a JSON object: %v: %s", err, e.data)
	}
	return v
}

// path walks a decoded JSON value: string keys index objects, ints arrays.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
