// Package wire_test holds the wire packages' shared tests.
package wire_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	geminiwire "github.com/careerpath/llmgateway/wire/gemini"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// responseTypes are the documents wirejson.Unmarshal decodes.
var responseTypes = map[string]func() any{
	"openai":       func() any { return new(openaiwire.ChatCompletion) },
	"anthropic":    func() any { return new(anthropicwire.Message) },
	"gemini":       func() any { return new(geminiwire.Response) },
	"openai chunk": func() any { return new(openaiwire.ChatCompletionChunk) },
}

// FuzzUnmarshalAgrees holds wirejson.Unmarshal to encoding/json: on every
// input, for every vendor response type, the same documents are accepted,
// with the same values, and the fast decoder (behind encoding/json's syntax
// check) fails only where encoding/json does.
func FuzzUnmarshalAgrees(f *testing.F) {
	for _, glob := range []string{"../providers/openai/testdata/*.json", "../providers/anthropic/testdata/*.json",
		"../providers/anthropic/testdata/rich/*.json", "../providers/gemini/testdata/*.json"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// Every event of the recorded streams.
	streams, _ := filepath.Glob("../providers/*/testdata/*.sse")
	for _, p := range streams {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok && len(data) > 0 && data[0] == '{' {
				f.Add(bytes.Clone(data))
			}
		}
	}
	f.Add([]byte(`{"id":"x","choices":[{"message":{"content":"a\ud800b"}}],"usage":{"prompt_tokens":1.5},"ID":"y"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, newV := range responseTypes {
			std, fast := newV(), newV()
			errStd := json.Unmarshal(b, std)
			errFast := wirejson.Unmarshal(b, fast)
			if (errStd == nil) != (errFast == nil) || (errStd != nil && errStd.Error() != errFast.Error()) {
				t.Fatalf("%s: encoding/json: %v, wirejson: %v, on %q", name, errStd, errFast, b)
			}
			if errStd == nil && !reflect.DeepEqual(std, fast) {
				t.Fatalf("%s: encoding/json %+v\nwirejson %+v\non %q", name, std, fast, b)
			}
			// Where the UTF-8 and syntax checks pass, the fast decoder
			// itself must not accept what encoding/json refuses.
			if utf8.Valid(b) && json.Valid(b) {
				quick := newV()
				if err := gojson.Unmarshal(b, quick); (err == nil) != (errStd == nil) {
					t.Fatalf("%s: encoding/json: %v, go-json: %v, on %q", name, errStd, err, b)
				}
			}
		}
	})
}
