package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/telemetry"
)

// Distinctive secrets that must never leave the gateway.
const (
	secretProviderKey = "sk-proj-PROVIDERSECRET7q4w9e2r8t6y1u3i5o0p"
	secretClientKey   = "llmgw_CLIENTSECRET3m8n2b7v5c1x9z4l6k0j"
	secretWrongKey    = "llmgw_WRONGSECRET5h1g8f3d6s2a9p4o7i0u"
)

// echoModes are the ways the echoing provider fails, each echoing the
// credential it was sent.
var echoModes = []string{"401", "403", "400", "429", "500html", "502text", "garbage", "streamerr"}

// echoProvider is a real HTTP server speaking the OpenAI and Anthropic
// error formats whose every failure quotes the credential headers it
// received, as careless upstreams and proxies do. The mode is the first
// path segment: /<mode>/v1/chat/completions or /<mode>/v1/messages.
func echoProvider(t *testing.T) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		cred := strings.TrimSpace(r.Header.Get("Authorization") + " " + r.Header.Get("X-Api-Key") + " " + r.Header.Get("Api-Key"))
		anthropic := strings.HasSuffix(r.URL.Path, "/v1/messages")
		mode := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		jsonErr := func(code int, typ, msg string) {
			w.Header().Set("Content-Type", "application/json")
			if code == 429 {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(code)
			if anthropic {
				_, _ = fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
				return
			}
			_, _ = fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":%q}}`, msg, typ, cred)
		}
		switch mode {
		case "401":
			jsonErr(401, "authentication_error", "Incorrect API key provided: "+cred+". You can find your API key at https://example.invalid.")
		case "403":
			jsonErr(403, "permission_error", "Key "+cred+" may not use this model")
		case "400":
			jsonErr(400, "invalid_request_error", "Bad request from "+cred)
		case "429":
			jsonErr(429, "rate_limit_error", "Rate limit reached for "+cred)
		case "500html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = fmt.Fprintf(w, "<html><head><title>500 %s</title></head><body>upstream said %s</body></html>", cred, cred)
		case "502text":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = fmt.Fprintf(w, "bad gateway for %s\n%s", cred, strings.Repeat(cred+" ", 100))
		case "garbage":
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, "{not json %s", cred)
		case "streamerr":
			w.Header().Set("Content-Type", "text/event-stream")
			if anthropic {
				_, _ = fmt.Fprintf(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":%q}}\n\n", "overloaded for "+cred)
				return
			}
			_, _ = fmt.Fprintf(w, "data: {\"error\":{\"message\":%q,\"type\":\"server_error\",\"code\":%q}}\n\n", "failed for "+cred, cred)
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// secretsConfig has, for each mode and vendor, a provider pointing at the
// echo server and a route using it (e.g. route "openai_401").
func secretsConfig(url string) map[string]string {
	var provs, models, routes []string
	for _, mode := range echoModes {
		for _, vendor := range []string{"openai", "anthropic"} {
			name := vendor + "_" + mode
			base := url + "/" + mode
			if vendor == "openai" {
				base += "/v1"
			}
			provs = append(provs, fmt.Sprintf(`%q: {"kind": %q, "base_url": %q, "api_key_env": "SECRET_TEST_KEY", "timeout": "5s",
				"retry": {"max_attempts": 1}, "circuit_breaker": {"min_requests": 1000}}`, name, vendor, base))
			models = append(models, fmt.Sprintf(`{"name": "m-%s", "provider": %q, "price": {"input_per_mtok": 1, "output_per_mtok": 1}}`, name, name))
			routes = append(routes, fmt.Sprintf(`%q: {"variants": [{"name": "v", "provider": %q, "model": "m-%s", "weight": 1}]}`, name, name, name))
		}
	}
	return map[string]string{
		config.ProviderSettingsFile: `{"providers": {` + strings.Join(provs, ",") + `}, "models": [` + strings.Join(models, ",") + `]}`,
		config.ABTestConfigFile:     `{"routes": {` + strings.Join(routes, ",") + `}}`,
		config.ClientsFile: `{"clients": [{"name": "rails-app", "key_sha256": "` + config.HashKey(secretClientKey) +
			`", "routes": ["openai_401", "openai_403", "openai_400", "openai_429", "openai_500html", "openai_502text", "openai_garbage", "openai_streamerr",
			"anthropic_401", "anthropic_403", "anthropic_400", "anthropic_429", "anthropic_500html", "anthropic_502text", "anthropic_garbage", "anthropic_streamerr"]}]}`,
	}
}

// TestSecretsNeverLeak drives a gateway with a distinctive provider key
// (from the environment) and client API key through provider failures
// that echo the provider key, authentication failures and bad requests,
// and searches everything observable for either key: every log line (at
// debug level), every gRPC status with its details, headers and trailers,
// every REST response, the /metrics scrape and the /admin endpoints.
func TestSecretsNeverLeak(t *testing.T) {
	url := echoProvider(t)
	dir := t.TempDir()
	for name, body := range secretsConfig(url) {
		writeFile(t, dir, name, body)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	metrics := telemetry.NewMetrics()
	env := map[string]string{"SECRET_TEST_KEY": secretProviderKey}
	rtOpts := core.RuntimeOptions{Getenv: func(k string) string { return env[k] }, Observer: metrics}
	rt, err := core.BuildRuntime(cfg, rtOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	logs := &syncBuffer{}
	srv, err := edge.New(edge.Options{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownGrace: 5 * time.Second,
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: metrics, ConfigDir: dir, Runtime: rtOpts,
	}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	grpcAddr, httpAddr, adminAddr := srv.Addrs()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := gatewayv1.NewLLMGatewayClient(conn)

	var seen bytes.Buffer // everything a caller or operator can observe
	record := func(what string, err error, md ...metadata.MD) {
		fmt.Fprintf(&seen, "== %s\n", what)
		if err != nil {
			st := status.Convert(err)
			fmt.Fprintf(&seen, "%s\n%s\n", err.Error(), prototext.Format(st.Proto()))
		}
		for _, m := range md {
			fmt.Fprintf(&seen, "%v\n", m)
		}
	}
	bearer := func(ctx context.Context, key string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}

	// Provider failures that echo the key, unary and streaming.
	failures := 0
	for _, mode := range echoModes {
		for _, vendor := range []string{"openai", "anthropic"} {
			route := vendor + "_" + mode
			var hdr, trl metadata.MD
			_, err := client.Complete(bearer(ctxT(t), secretClientKey), request(route, "u"), grpc.Header(&hdr), grpc.Trailer(&trl))
			if err == nil {
				t.Errorf("%s: Complete succeeded", route)
			} else {
				failures++
			}
			record("Complete "+route, err, hdr, trl)
			st, err := client.Stream(bearer(ctxT(t), secretClientKey), request(route, "u"))
			if err == nil {
				for err == nil {
					_, err = st.Recv()
				}
				record("Stream "+route, err, st.Trailer())
			} else {
				record("Stream "+route, err)
			}
		}
	}
	if failures != 2*len(echoModes) {
		t.Fatalf("%d provider failures, want %d", failures, 2*len(echoModes))
	}
	// The 401 and 403 upstream errors are the gateway's own credential
	// problem, never reported as the caller's.
	for _, route := range []string{"openai_401", "anthropic_403"} {
		_, err := client.Complete(bearer(ctxT(t), secretClientKey), request(route, "u"))
		if status.Code(err).String() != "Internal" {
			t.Errorf("%s: %v, want Internal", route, err)
		}
	}

	// Authentication failures and bad requests over gRPC.
	authCases := map[string]metadata.MD{
		"wrong key":          metadata.Pairs("authorization", "Bearer "+secretWrongKey),
		"not bearer":         metadata.Pairs("authorization", "Basic "+secretClientKey),
		"bare key":           metadata.Pairs("authorization", secretClientKey),
		"two different keys": metadata.Pairs("authorization", "Bearer "+secretClientKey, "x-api-key", secretWrongKey),
		"key with garbage":   metadata.Pairs("authorization", "Bearer "+secretClientKey+"x"),
		"x-api-key bearer":   metadata.Pairs("x-api-key", "Bearer "+secretClientKey),
	}
	for name, md := range authCases {
		ctx := metadata.NewOutgoingContext(ctxT(t), md)
		var hdr, trl metadata.MD
		_, err := client.Complete(ctx, request("openai_400", "u"), grpc.Header(&hdr), grpc.Trailer(&trl))
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		record("auth "+name, err, hdr, trl)
	}
	bad := request("openai_400", "u")
	bad.Params.MaxTokens = nil
	bad.Messages = nil
	_, err = client.Complete(bearer(ctxT(t), secretClientKey), bad)
	record("bad request", err)
	_, err = client.Complete(bearer(ctxT(t), secretClientKey), request("no_such_route", "u"))
	record("unknown route", err)

	// The same through the REST shim.
	post := func(path, body string, hdr http.Header) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+path, strings.NewReader(body))
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		dump, _ := httputil.DumpResponse(resp, true)
		fmt.Fprintf(&seen, "== REST %s\n%s\n", path, dump)
	}
	h := func(kv ...string) http.Header {
		hd := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			hd.Add(kv[i], kv[i+1])
		}
		return hd
	}
	msg := `"messages": [{"role": "ROLE_USER", "content": "hi"}]`
	for _, mode := range echoModes {
		for _, vendor := range []string{"openai", "anthropic"} {
			body := `{"route": "` + vendor + "_" + mode + `", ` + msg + `}`
			post("/v1/complete", body, h("Authorization", "Bearer "+secretClientKey))
			post("/v1/stream", body, h("Authorization", "Bearer "+secretClientKey))
		}
	}
	post("/v1/complete", `{"route": "openai_400", `+msg+`}`, h("Authorization", "Bearer "+secretWrongKey))
	post("/v1/complete", `{"route": "openai_400", `+msg+`}`, h("Authorization", "Basic "+secretClientKey))
	post("/v1/complete", `{"route": "openai_400", `+msg+`}`, h("X-Api-Key", secretWrongKey, "Authorization", "Bearer "+secretClientKey))
	post("/v1/complete", `{"route": "openai_400", "nope": 1}`, h("Authorization", "Bearer "+secretClientKey))
	post("/v1/complete", `{not json`, h("Authorization", "Bearer "+secretClientKey))

	// What operators see.
	for _, path := range []string{"/metrics", "/admin/breakers", "/admin/config", "/healthz", "/readyz"} {
		resp, err := http.Get("http://" + adminAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		fmt.Fprintf(&seen, "== admin %s\n%s\n", path, b)
	}
	resp, err := http.Post("http://"+adminAddr+"/admin/config/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Fprintf(&seen, "== admin reload\n%s\n", b)

	// Shut down so that every log line is written, then search.
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := seen.String() + "\n== logs\n" + logs.String()
	if !strings.Contains(all, "openai_401") || !strings.Contains(logs.String(), `"level":"DEBUG"`) && !strings.Contains(logs.String(), `"level":"INFO"`) {
		t.Fatalf("nothing was recorded:\n%s", all)
	}
	// The echoes did reach the gateway: its providers redacted them.
	if !strings.Contains(strings.ToLower(all), "[redacted]") {
		t.Fatalf("no upstream echo was seen, so the test proves nothing:\n%s", all)
	}
	for _, key := range []string{secretProviderKey, secretClientKey, secretWrongKey} {
		// The whole key, and its distinctive middle, which a truncated
		// or partly redacted echo would still show.
		for _, needle := range []string{key, key[6:26], key[len(key)-20:]} {
			if i := strings.Index(all, needle); i >= 0 {
				t.Errorf("%q leaked: …%s…", needle, all[max(0, i-300):min(len(all), i+100)])
			}
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("searched %d bytes of responses, admin output and %d log lines", len(all), strings.Count(logs.String(), "\n"))
}
