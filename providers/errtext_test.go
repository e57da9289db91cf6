package providers_test

import (
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

func TestRedactorCode(t *testing.T) {
	r := providers.Redactor{Key: "sk-ant-api03-SECRET", KeyPrefix: "sk-ant-"}
	for code, want := range map[string]string{
		"overloaded_error":                             "overloaded_error",
		"RESOURCE_EXHAUSTED/RATE_LIMIT_EXCEEDED":       "RESOURCE_EXHAUSTED/RATE_LIMIT_EXCEEDED",
		"sk-ant-api03-SECRET":                          "", // the key itself
		"x-sk-ant-OTHERKEY":                            "", // shaped like a key
		"bad request":                                  "", // not an identifier
		"invalid\x00type":                              "",
		string(make([]byte, providers.MaxCodeBytes+1)): "",
		"": "",
	} {
		if got := r.Code(code); got != want {
			t.Errorf("Code(%q) = %q, want %q", code, got, want)
		}
	}
}
