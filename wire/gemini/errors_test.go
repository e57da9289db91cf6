package gemini

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestStatusDetails reads the details of recorded error bodies.
func TestStatusDetails(t *testing.T) {
	read := func(name string) *Status {
		t.Helper()
		b, err := os.ReadFile("../../providers/gemini/testdata/errors/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var e ErrorBody
		if err := json.Unmarshal(b, &e); err != nil || e.Error == nil {
			t.Fatalf("%s: %v", name, err)
		}
		return e.Error
	}
	if s := read("rate_limit.json"); s.RetryDelay() != 7*time.Second || s.Status != StatusResourceExhausted || HTTPStatus(s.Status) != 429 {
		t.Errorf("rate limit: %+v", s)
	}
	if s := read("api_key_invalid.json"); s.Reason() != ReasonAPIKeyInvalid || s.RetryDelay() != 0 {
		t.Errorf("api key: %+v", s)
	}
	if v := read("invalid_argument.json").FieldViolations(); len(v) != 1 || v[0].Field != "generation_config" {
		t.Errorf("field violations %+v", v)
	}
	if !IsContextLength(read("context_length.json").Message) || IsContextLength(read("invalid_argument.json").Message) {
		t.Error("context length misread")
	}
	for _, bad := range []string{"", "soon", "-3s", "0s"} {
		s := Status{Details: []Detail{{Type: TypeRetryInfo, RetryDelay: bad}}}
		if d := s.RetryDelay(); d != 0 {
			t.Errorf("retryDelay %q = %v", bad, d)
		}
	}
	var round ErrorBody
	if err := json.Unmarshal(NewError(503, StatusUnavailable, "busy", Detail{Type: TypeRetryInfo, RetryDelay: "1.5s"}), &round); err != nil ||
		round.Error.Code != 503 || round.Error.RetryDelay() != 1500*time.Millisecond {
		t.Errorf("NewError round trip: %+v %v", round.Error, err)
	}
}
