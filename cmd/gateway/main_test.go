package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRefusesUnknownProviderKind(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("provider_settings.json", `{"providers": {"openai": {"kind": "gpt"}},
		"models": [{"name": "m", "provider": "openai", "price": {"input_per_mtok": 1, "output_per_mtok": 1}}]}`)
	write("ab_test_config.json", `{"routes": {"r": {"variants": [{"name": "v", "provider": "openai", "model": "m", "weight": 1}]}}}`)
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
	for _, want := range []string{"-grpc-addr", "-http-addr", "-admin-addr", "-config-dir", "-log-level", "LLMGW_"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}
