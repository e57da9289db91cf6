package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/telemetry"
)

// Two configurations that answer the same route in ways that cannot be
// confused: A with variant "a" on the OpenAI-wire simulator at one price,
// B with variant "b" on the Anthropic-wire simulator at another.
const reloadProviders = `{
  "providers": {
    "openai":    {"kind": "sim", "options": {"wire": "openai", "inter_token": "2ms"}},
    "anthropic": {"kind": "sim", "options": {"wire": "anthropic", "inter_token": "2ms"}}
  },
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}},
    {"name": "claude-3-5-haiku-latest", "provider": "anthropic", "price": {"input_per_mtok": 1000, "output_per_mtok": 1000}}
  ]
}`

func reloadRoutes(variant, provider, model string) string {
	return `{"routes": {"career_advice": {"variants": [
		{"name": "` + variant + `", "provider": "` + provider + `", "model": "` + model + `", "weight": 1}]}}}`
}

var (
	configA = reloadRoutes("a", "openai", "gpt-4o-mini")
	configB = reloadRoutes("b", "anthropic", "claude-3-5-haiku-latest")
)

type reloadGateway struct {
	srv     *edge.Server
	dir     string
	client  gatewayv1.LLMGatewayClient
	admin   string
	metrics *telemetry.Metrics
}

func startReloadGateway(t *testing.T) *reloadGateway {
	t.Helper()
	g := &reloadGateway{dir: t.TempDir(), metrics: telemetry.NewMetrics()}
	writeFile(t, g.dir, config.ProviderSettingsFile, reloadProviders)
	writeFile(t, g.dir, config.ABTestConfigFile, configA)
	cfg, err := config.Load(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := core.RuntimeOptions{Observer: g.metrics}
	rt, err := core.BuildRuntime(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	var err2 error
	g.srv, err2 = edge.New(edge.Options{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownGrace: 5 * time.Second, Metrics: g.metrics, ConfigDir: g.dir, Runtime: opts,
	}, rt)
	if err2 != nil {
		t.Fatal(err2)
	}
	if err := g.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.srv.Shutdown(context.Background())
		g.srv.Service().Runtime().Close()
	})
	var grpcAddr string
	grpcAddr, _, g.admin = g.srv.Addrs()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	g.client = gatewayv1.NewLLMGatewayClient(conn)
	return g
}

// replace writes a file the way careful writers do: a temporary file, then
// a rename, so that no reader ever sees half of it.
func replace(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// consistent reports whether a response was produced by one configuration
// from start to end.
func consistent(variant, provider string, cost float64, inTok, outTok int32) bool {
	switch variant {
	case "a":
		return provider == "openai" && near(cost, float64(inTok+outTok)*1/1e6)
	case "b":
		return provider == "anthropic" && near(cost, float64(inTok+outTok)*1000/1e6)
	}
	return false
}

func near(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

func TestHotReloadUnderLoadLosesNothingAndMixesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test: make test runs it, make check (-short) does not")
	}
	g := startReloadGateway(t)
	var (
		wg                sync.WaitGroup
		stop              = make(chan struct{})
		ok, failed, mixed atomic.Int64
		sawA, sawB        atomic.Bool
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Generous: the assertion is about lost and mixed requests,
				// not speed on a loaded CI machine.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				var variant, provider string
				var cost float64
				var usage *gatewayv1.Usage
				var err error
				if i%2 == 0 {
					var resp *gatewayv1.CompleteResponse
					resp, err = g.client.Complete(ctx, request("career_advice", ""))
					if err == nil {
						variant, provider, cost, usage = resp.Variant, resp.Provider, resp.CostUsd, resp.Usage
					}
				} else {
					var st gatewayv1.LLMGateway_StreamClient
					st, err = g.client.Stream(ctx, request("career_advice", ""))
					if err == nil {
						final, serr := finalOf(st)
						err = serr
						if final != nil {
							variant, provider, cost, usage = final.Variant, final.Provider, final.CostUsd, final.Usage
						}
					}
				}
				cancel()
				switch {
				case err != nil:
					failed.Add(1)
					t.Errorf("request failed during reloads: %v", err)
				case !consistent(variant, provider, cost, usage.GetInputTokens(), usage.GetOutputTokens()):
					mixed.Add(1)
					t.Errorf("mixed configuration: variant %s provider %s cost %g", variant, provider, cost)
				default:
					ok.Add(1)
					sawA.Store(sawA.Load() || variant == "a")
					sawB.Store(sawB.Load() || variant == "b")
				}
			}
		}()
	}
	for i := range 10 {
		body := configB
		if i%2 == 1 {
			body = configA
		}
		replace(t, g.dir, config.ABTestConfigFile, body)
		if _, err := g.srv.Reloader().Reload(context.Background(), "test"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests across 10 reloads, %d failed, %d mixed", ok.Load(), failed.Load(), mixed.Load())
	if ok.Load() == 0 || !sawA.Load() || !sawB.Load() {
		t.Fatalf("both configurations should have served (a %v, b %v)", sawA.Load(), sawB.Load())
	}
	if st := g.srv.Reloader().Status(); st.Reloads != 10 {
		t.Fatalf("status = %+v, want 10 reloads", st)
	}
}

func finalOf(st gatewayv1.LLMGateway_StreamClient) (*gatewayv1.StreamResponse, error) {
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if m.Done {
			return m, nil
		}
	}
}

func TestInvalidConfigIsRefusedAndOldOneKeepsServing(t *testing.T) {
	g := startReloadGateway(t)
	before := g.srv.Reloader().Status()
	for _, bad := range []struct{ name, body string }{
		{"not JSON", "this is not json"},
		{"truncated mid-write", configB[:len(configB)/2]},
		{"fails validation", reloadRoutes("b", "anthropic", "claude-unknown")},
		{"unknown field", strings.Replace(configB, `"weight"`, `"wieght"`, 1)},
	} {
		t.Run(bad.name, func(t *testing.T) {
			replace(t, g.dir, config.ABTestConfigFile, bad.body)
			resp, err := http.Post("http://"+g.admin+"/admin/config/reload", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "ab_test_config.json") {
				t.Fatalf("reload: %d %s", resp.StatusCode, b)
			}
			out, err := g.client.Complete(ctxT(t), request("career_advice", ""))
			if err != nil || out.Variant != "a" {
				t.Fatalf("old configuration not serving: %v %v", out, err)
			}
			st := g.srv.Reloader().Status()
			if st.Version != before.Version || st.LastError == "" {
				t.Fatalf("status = %+v", st)
			}
		})
	}
	if !strings.Contains(scrapeAddr(t, g.admin), `llmgateway_config_reloads_total{result="failed"} 4`) {
		t.Fatal("refused reloads are not counted")
	}
	// A valid file is then picked up.
	replace(t, g.dir, config.ABTestConfigFile, configB)
	resp, err := http.Post("http://"+g.admin+"/admin/config/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Changed bool
		Status  core.ReloadStatus
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	_ = resp.Body.Close()
	if !body.Changed || body.Status.Version == before.Version || body.Status.LastError != "" {
		t.Fatalf("valid reload: %+v", body)
	}
	if !strings.Contains(scrapeAddr(t, g.admin), `llmgateway_config_info{version="`+body.Status.Version+`"} 1`) {
		t.Fatal("metrics do not show the active version")
	}
}

func TestWatchPicksUpFileChanges(t *testing.T) {
	g := startReloadGateway(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.srv.Reloader().Watch(ctx, 50*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the watcher start
	replace(t, g.dir, config.ABTestConfigFile, configB)
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := g.client.Complete(ctxT(t), request("career_advice", ""))
		if err == nil && out.Variant == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("change not picked up: %v %v", out, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var st core.ReloadStatus
	resp, err := http.Get("http://" + g.admin + "/admin/config")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	_ = resp.Body.Close()
	if st.Reloads != 1 || st.Version == "" || st.LoadedAt.IsZero() || st.Source != g.dir {
		t.Fatalf("admin status = %+v", st)
	}
}

func TestStreamSpanningAReloadFinishesOnItsConfig(t *testing.T) {
	g := startReloadGateway(t)
	// A stream of 24 tokens at 2ms each is still running when the
	// configuration changes; the runtime it started on (whose embedded
	// simulator the reload retires) must serve it to the end.
	st, err := g.client.Stream(ctxT(t), request("career_advice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	replace(t, g.dir, config.ABTestConfigFile, configB)
	if changed, err := g.srv.Reloader().Reload(context.Background(), "test"); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	final, err := finalOf(st)
	if err != nil || final.Variant != "a" {
		t.Fatalf("stream across the reload: %v %v", final, err)
	}
	out, err := g.client.Complete(ctxT(t), request("career_advice", ""))
	if err != nil || out.Variant != "b" {
		t.Fatalf("after the reload: %v %v", out, err)
	}
}

func scrapeAddr(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
