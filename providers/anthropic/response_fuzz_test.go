package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// FuzzParseResponse feeds arbitrary bodies, with any status, to the unary
// response and error parsers: they never panic, a 2xx body gives an
// answer or a *providers.Error, any other status a typed error, and no
// error message ever holds the provider key, even when the body does.
func FuzzParseResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "message*.json"))
	errs, _ := filepath.Glob(filepath.Join("testdata", "errors", "*"))
	for _, name := range append(files, errs...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		status := 200
		if strings.Contains(name, "errors") {
			status = 400
		}
		f.Add(status, b)
	}
	f.Add(401, []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+fakeKey+`"}}`))
	f.Add(200, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"`+fakeKey+`"}}`))
	f.Add(529, []byte("<html><title>"+fakeKey+"</title></html>"))
	f.Add(200, []byte(`{"type":"message","content":[{"type":"text","text":null}],"usage":{"input_tokens":-1}}`))
	p := &Provider{name: "fuzz", text: providers.Redactor{Key: fakeKey, KeyPrefix: keyPrefix}}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		var err error
		if status/100 == 2 {
			var r *providers.Response
			if r, err = p.parseResponse(body, false); err == nil {
				if r == nil {
					t.Fatal("nil response without an error")
				}
				return
			}
		} else {
			resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(body))}
			err = p.statusError(context.Background(), context.Background(), resp)
		}
		var pe *providers.Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %T %v is not a *providers.Error", err, err)
		}
		if strings.Contains(err.Error(), fakeKey) || strings.Contains(pe.Code, fakeKey) {
			t.Fatalf("the key leaked into %q (code %q)", err.Error(), pe.Code)
		}
	})
}
