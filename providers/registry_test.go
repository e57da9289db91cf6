package providers_test

import (
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/anthropic"
)

// TestFactoryOfFailure checks a constructor's failure reaches the caller
// as a nil Provider, not as a typed nil inside the interface.
func TestFactoryOfFailure(t *testing.T) {
	p, err := providers.FactoryOf(anthropic.New)(providers.Settings{Name: "bad", BaseURL: "ftp://example.com"})
	if err == nil {
		t.Fatal("a base_url that is not http(s) was accepted")
	}
	if p != nil {
		t.Errorf("provider %#v alongside error %v, want a nil interface", p, err)
	}
	p, err = providers.FactoryOf(anthropic.New)(providers.Settings{Name: "good"})
	if err != nil || p == nil || p.Name() != "good" {
		t.Errorf("FactoryOf(anthropic.New) = %v, %v", p, err)
	}
}
