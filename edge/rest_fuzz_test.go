package edge

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// FuzzRESTCompleteRequest feeds arbitrary bodies to the REST shim's JSON
// decoding of a CompleteRequest, then to validation: neither panics, a
// decoded request survives a round trip through the shim's JSON, and
// validation answers nil or an [*gwerr.InvalidRequestError].
func FuzzRESTCompleteRequest(f *testing.F) {
	for _, s := range []string{
		`{"route": "career_advice", "messages": [{"role": "ROLE_USER", "content": "How do I become a data engineer?"}]}`,
		`{"model": {"provider": "openai", "model": "gpt-4o-mini"}, "messages": [{"role": 2, "content": "x"}],
		  "params": {"max_tokens": 64, "temperature": 0.2, "top_p": 1, "stop": ["\n"]},
		  "caller": {"subject": "u", "tags": {"k": "v"}}, "cache": {"ttl": "60s", "bypass": false},
		  "variables": {"name": "{{.Vars.x}}"}, "force_variant": "gpt"}`,
		`{"route": "r", "messages": [], "unknown": 1}`,
		`{"route": 1}`, `{"messages": [{"role": "ROLE_NOPE"}]}`, `{"cache": {"ttl": "-1s"}}`,
		`{"params": {"max_tokens": 99999999999}}`, `{"params": {"temperature": "NaN"}}`,
		`{"variables": {"a": null}}`, `null`, `[]`, `{`, "\xff", `{"route": "\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	jm := jsonMarshaler()
	v, err := newRequestValidator(DefaultLimits)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req gatewayv1.CompleteRequest
		if err := jm.Unmarshal(body, &req); err != nil {
			return
		}
		out, err := jm.Marshal(&req)
		if err != nil {
			t.Fatalf("a decoded request does not encode: %v", err)
		}
		var again gatewayv1.CompleteRequest
		if err := jm.Unmarshal(out, &again); err != nil {
			t.Fatalf("the shim's own JSON %s does not decode: %v", out, err)
		}
		if !proto.Equal(&req, &again) {
			t.Fatalf("round trip changed the request:\n%v\n%v", &req, &again)
		}
		if err := v.check(&req); err != nil {
			var ir *gwerr.InvalidRequestError
			if !errors.As(err, &ir) {
				t.Fatalf("validation failed with %T %v", err, err)
			}
		}
	})
}
