package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// fuzzKey is the provider key the response fuzzers plant in bodies.
const fuzzKey = "sk-fuzz-0123456789abcdef"

// FuzzParseResponse feeds arbitrary bodies, with any status, to the unary
// response and error parsers: they never panic, a 2xx body gives an
// answer or a *providers.Error, any other status a *providers.Error, and
// no error message ever holds the provider key, even when the body does.
func FuzzParseResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	files = append(files, filepath.Join("testdata", "bad_gateway.html"), filepath.Join("testdata", "garbage.txt"))
	for _, name := range files {
		if strings.Contains(name, "request_") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		status := 200
		if strings.Contains(name, "error") || strings.HasSuffix(name, ".html") {
			status = 400
		}
		f.Add(status, b)
	}
	f.Add(401, []byte(`{"error":{"message":"Incorrect API key provided: `+fuzzKey+`","code":"invalid_api_key"}}`))
	f.Add(200, []byte(`{"error":{"message":"`+fuzzKey+`","code":"`+fuzzKey+`"}}`))
	f.Add(500, []byte("<html><title>"+fuzzKey+"</title></html>"))
	f.Add(200, []byte(`{"choices":[{"message":{"content":null}}],"usage":{"prompt_tokens":-1}}`))
	p := &Provider{name: "fuzz", key: fuzzKey}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body))}
		var err error
		if status/100 == 2 {
			var r *providers.Response
			if r, err = p.parseCompletion(body, resp); err == nil {
				if r == nil {
					t.Fatal("nil response without an error")
				}
				return
			}
		} else {
			err = p.statusError(resp)
		}
		var pe *providers.Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %T %v is not a *providers.Error", err, err)
		}
		if strings.Contains(err.Error(), fuzzKey) || strings.Contains(pe.Code, fuzzKey) {
			t.Fatalf("the key leaked into %q (code %q)", err.Error(), pe.Code)
		}
	})
}
