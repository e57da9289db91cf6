package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRefusesUnknownProviderKind(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"provider_settings.json": `{"providers": {"openai": {"kind": "gpt"}},
		"models": [{"name": "m", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`,
		"ab_test_config.json": `{"routes": {"r": {"variants": [{"name": "v", "provider": "openai", "model": "m", "weight": 1}]}}}`,
	})
	err := run(context.Background(), []string{"-config-dir", dir, "-grpc-addr", "127.0.0.1:0",
		"-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"}, func(string) string { return "" })
	want := `provider_settings.json: $.providers.openai.kind: unknown provider kind "gpt"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}

func TestHelpDocumentsFlagsAndEnv(t *testing.T) {
	r, w, _ := os.Pipe()
	stderr := os.Stderr
	os.Stderr = w
	err := run(context.Background(), []string{"-help"}, func(string) string { return "" })
	os.Stderr = stderr
	_ = w.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-grpc-addr", "-http-addr", "-admin-addr", "-config-dir", "-log-level", "-tls-cert", "-tls-client-ca", "-redis-master-name", "LLMGW_"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	// The port is closed again before the gateway binds it. One the
	// kernel hands out itself (port 0) is in the ephemeral range, where
	// any outgoing connection of a test running beside this one may take
	// it in between; a random port below that range is taken only by
	// another test choosing the same one.
	var lc net.ListenConfig
	for range 100 {
		port := freePortLow + rand.IntN(freePortHigh-freePortLow)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue // never the same port to two tests of this process
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		return addr
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

// handedOut holds the ports freeAddr has returned.
var handedOut sync.Map

// freePortLow and freePortHigh bound the ports freeAddr picks from: below
// Linux's default ephemeral range (32768–60999).
const (
	freePortLow  = 20000
	freePortHigh = 32000
)

// TestConfigStoreSyncAndReload runs the gateway against a config store
// served over HTTP: it starts on the store's configuration, and a change
// in the store reaches the running gateway through sync and hot reload.
func TestConfigStoreSyncAndReload(t *testing.T) {
	providersJSON := `{"providers": {"openai": {"kind": "sim"}},
		"models": [{"name": "m", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`
	routes := func(variant string) string {
		return `{"routes": {"r": {"variants": [{"name": "` + variant + `", "provider": "openai", "model": "m", "weight": 1}]}}}`
	}
	var mu sync.Mutex
	files := map[string]string{"provider_settings.json": providersJSON, "ab_test_config.json": routes("first")}
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body, ok := files[strings.TrimPrefix(r.URL.Path, "/config/")]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", fmt.Sprintf("%q", fmt.Sprint(len(body), body[len(body)-20:])))
		if r.Header.Get("If-None-Match") == w.Header().Get("ETag") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer store.Close()

	dir := t.TempDir()
	admin := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config-dir", dir, "-config-source", store.URL + "/config/",
			"-config-sync-interval", "50ms", "-config-debounce", "20ms", "-log-level", "error",
			"-grpc-addr", freeAddr(t), "-http-addr", freeAddr(t), "-admin-addr", admin}, func(string) string { return "" })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	version := func() string {
		resp, err := http.Get("http://" + admin + "/admin/config")
		if err != nil {
			return ""
		}
		defer func() { _ = resp.Body.Close() }()
		var st struct {
			Version string
			Sync    map[string]any
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		if st.Sync == nil {
			return ""
		}
		return st.Version
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var first string
	waitFor("the gateway to start on the store's config", func() bool { first = version(); return first != "" })
	b, err := os.ReadFile(filepath.Join(dir, "ab_test_config.json"))
	if err != nil || !strings.Contains(string(b), `"first"`) {
		t.Fatalf("synced file: %s %v", b, err)
	}

	mu.Lock()
	files["ab_test_config.json"] = routes("second")
	mu.Unlock()
	waitFor("the store's change to be reloaded", func() bool { v := version(); return v != "" && v != first })

	// An invalid change in the store never reaches the directory.
	mu.Lock()
	files["ab_test_config.json"] = `{"routes": {"r": {"variants": []}}}`
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	b, _ = os.ReadFile(filepath.Join(dir, "ab_test_config.json"))
	if !strings.Contains(string(b), `"second"`) {
		t.Fatalf("an invalid store change reached the directory: %s", b)
	}
}

// TestSIGHUPReloads sends the process SIGHUP while the gateway runs with a
// config directory: the configuration is reloaded (the file watcher is
// slowed down so that only the signal can do it).
func TestSIGHUPReloads(t *testing.T) {
	// Keep the test process alive whatever the timing of the gateway's own
	// signal registration.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	dir := writeConfig(t, map[string]string{
		"provider_settings.json": `{"providers": {"openai": {"kind": "sim"}},
		"models": [{"name": "m", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`,
		"ab_test_config.json": `{"routes": {"r": {"variants": [{"name": "a", "provider": "openai", "model": "m", "weight": 1}]}}}`,
	})
	admin := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config-dir", dir, "-config-debounce", "1h", "-log-level", "error",
			"-grpc-addr", freeAddr(t), "-http-addr", freeAddr(t), "-admin-addr", admin}, func(string) string { return "" })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	status := func() (version string, reloads int) {
		resp, err := http.Get("http://" + admin + "/admin/config")
		if err != nil {
			return "", 0
		}
		defer func() { _ = resp.Body.Close() }()
		var st struct {
			Version string
			Reloads int
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return st.Version, st.Reloads
	}
	deadline := time.Now().Add(10 * time.Second)
	var before string
	for before == "" {
		if time.Now().After(deadline) {
			t.Fatal("gateway did not start")
		}
		time.Sleep(20 * time.Millisecond)
		before, _ = status()
	}
	writeConfigFile(t, dir, "ab_test_config.json", `{"routes": {"r": {"variants": [{"name": "b", "provider": "openai", "model": "m", "weight": 1}]}}}`)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for {
		v, n := status()
		if v != "" && v != before && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload: version %s, reloads %d", v, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
