package edge_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// logBuffer collects JSON log lines written concurrently.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines whose msg is msg, decoded, and the raw text.
func (b *logBuffer) lines(t *testing.T, msg string) ([]map[string]any, string) {
	t.Helper()
	b.mu.Lock()
	raw := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out, raw
}

const secretPrompt = "My name is Jane Roe and my SSN is 078-05-1120"

// TestAccessLog checks the access log: one JSON line per call, streams
// included (logged when they end), with the trace id, route, variant,
// provider, model, status, tokens, cost, cache status, served-by step,
// latency and overhead; never the prompt, the answer or an API key. The
// level changes at runtime on the admin port.
func TestAccessLog(t *testing.T) {
	recordSpans() // the W3C propagator, so that the caller's trace id is logged
	logs := &logBuffer{}
	level := new(slog.LevelVar)
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     authRoutes,
		config.ClientsFile:          authClients(),
	}, edge.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})), LogLevel: level})
	const traceID = "5b8efff798038103d269b633813fc60c"
	ctx := metadata.AppendToOutgoingContext(withKey(ctxT(t), railsKey), "traceparent", "00-"+traceID+"-eee19b7ec3c1b174-01")

	req := request("career_advice", "jane-roe@example.com")
	req.Messages[0].Content = secretPrompt
	resp, err := g.client.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st, err := g.client.Stream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var final *gatewayv1.StreamResponse
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Done {
			final = m
		}
	}
	// Refused: a wrong key, and a route the client may not use.
	if _, err := g.client.Complete(withKey(ctxT(t), "llmgw_not-a-real-key-000000"), req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := g.client.Complete(withKey(ctxT(t), railsKey), request("resume_review", "u")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("route not allowed: %v", err)
	}

	lines, raw := logs.lines(t, "request")
	if len(lines) != 4 {
		t.Fatalf("%d access lines for 4 calls:\n%s", len(lines), raw)
	}
	for _, secret := range []string{secretPrompt, "078-05-1120", "jane-roe", railsKey, "llmgw_not-a-real-key", resp.Text, "sk-test-openai", "sk-ant-test"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	num := func(m map[string]any, k string) float64 {
		f, _ := m[k].(float64)
		return f
	}
	check := func(m map[string]any, rpc string, provider, model string, in, out int32, cost float64, step string) {
		t.Helper()
		want := map[string]any{"level": "INFO", "rpc": rpc, "status": "OK", "client": "rails-app", "trace_id": traceID,
			"route": "career_advice", "provider": provider, "model": model, "cache": "off", "step": step}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s line: %s = %v, want %v", rpc, k, m[k], v)
			}
		}
		if v, _ := m["variant"].(string); v != "gpt" && v != "claude" {
			t.Errorf("%s line: variant %v", rpc, m["variant"])
		}
		if num(m, "input_tokens") != float64(in) || num(m, "output_tokens") != float64(out) || num(m, "cost_usd") != cost {
			t.Errorf("%s line: tokens %v/%v cost %v, want %d/%d %v", rpc, m["input_tokens"], m["output_tokens"], m["cost_usd"], in, out, cost)
		}
		if num(m, "latency_ms") <= 0 || num(m, "overhead_ms") <= 0 || num(m, "latency_ms") < num(m, "overhead_ms") {
			t.Errorf("%s line: latency %v overhead %v", rpc, m["latency_ms"], m["overhead_ms"])
		}
		if r, _ := m["request"].(map[string]any); r == nil || r["messages"] != 1.0 || r["max_tokens"] != 64.0 {
			t.Errorf("%s line: request %v", rpc, m["request"])
		}
	}
	check(lines[0], "Complete", resp.Provider, resp.Model, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.CostUsd, "primary")
	check(lines[1], "Stream", final.Provider, final.Model, final.Usage.InputTokens, final.Usage.OutputTokens, final.CostUsd, "primary")
	if num(lines[1], "ttft_ms") <= 0 {
		t.Errorf("stream line lacks ttft: %v", lines[1])
	}
	if l := lines[2]; l["status"] != "UNAUTHENTICATED" || l["client"] != nil || l["route"] != "career_advice" || l["error"] == "" {
		t.Errorf("refused line: %v", l)
	}
	if l := lines[3]; l["status"] != "PERMISSION_DENIED" || l["route"] != "resume_review" || l["level"] != "WARN" {
		t.Errorf("forbidden line: %v", l)
	}

	// The level, at runtime: warn hides the access lines of successful calls.
	admin := "http://" + g.adminAddr + "/admin/log-level"
	if code, body := putJSON(t, admin, `{"level": "warn"}`); code != http.StatusOK || !strings.Contains(body, `"WARN"`) {
		t.Fatalf("set level: %d %s", code, body)
	}
	if code, _ := putJSON(t, admin, `{"level": "loud"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown level: %d", code)
	}
	if _, err := g.client.Complete(ctx, req); err != nil {
		t.Fatal(err)
	}
	if lines, _ := logs.lines(t, "request"); len(lines) != 4 {
		t.Fatalf("at warn, %d access lines", len(lines))
	}
	if changes, _ := logs.lines(t, "log level changed"); len(changes) != 1 || changes[0]["to"] != "WARN" {
		t.Fatalf("level change events: %v", changes)
	}
	if level.Level() != slog.LevelWarn {
		t.Fatalf("level %v", level.Level())
	}
}

func putJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
