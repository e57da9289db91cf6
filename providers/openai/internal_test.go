package openai

import (
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/openai"
)

func TestFinishReason(t *testing.T) {
	for in, want := range map[string]providers.FinishReason{
		"stop": providers.FinishStop, "length": providers.FinishLength, "content_filter": providers.FinishContentFilter,
		"tool_calls": providers.FinishToolCalls, "function_call": providers.FinishToolCalls, "": providers.FinishUnknown, "eos": providers.FinishUnknown,
	} {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInBandKind(t *testing.T) {
	tests := []struct {
		u    wire.ErrorObject
		want providers.ErrorKind
	}{
		{wire.ErrorObject{Type: "server_error"}, providers.KindServer},
		{wire.ErrorObject{Type: "tokens", Code: "rate_limit_exceeded"}, providers.KindRateLimited},
		{wire.ErrorObject{Type: "insufficient_quota", Code: "insufficient_quota"}, providers.KindQuotaExhausted},
		{wire.ErrorObject{Type: "insufficient_quota"}, providers.KindQuotaExhausted},
		{wire.ErrorObject{Type: "invalid_request_error", Code: "context_length_exceeded"}, providers.KindContextLength},
		{wire.ErrorObject{Type: "invalid_request_error"}, providers.KindBadRequest},
		{wire.ErrorObject{Type: "invalid_request_error", Code: "invalid_api_key"}, providers.KindAuth},
		{wire.ErrorObject{Type: "overloaded_error"}, providers.KindOverloaded},
		{wire.ErrorObject{Type: "BadRequestError", Code: "400"}, providers.KindBadRequest},
		{wire.ErrorObject{Code: "503"}, providers.KindOverloaded},
		{wire.ErrorObject{Message: "something odd"}, providers.KindServer},
	}
	for _, tt := range tests {
		if got := inBandKind(tt.u); got != tt.want {
			t.Errorf("inBandKind(%+v) = %v, want %v", tt.u, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	p := &Provider{name: "t", key: "sk-test-SECRET"}
	tests := []struct{ in, want string }{
		{"key sk-test-SECRET echoed", "key [redacted] echoed"},
		{"  many\n\n\tspaces \x00 and\x1b controls  ", "many spaces and controls"},
		{strings.Repeat("a", 195) + " sk-test-SECRET", strings.Repeat("a", 195) + " [red"},
		{"cut by upstream: sk-test-SEC", "cut by upstream:"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
		{strings.Repeat("b", 190) + " xx sk-test", strings.Repeat("b", 190) + " xx"},
	}
	for _, tt := range tests {
		got := p.sanitize(tt.in)
		if got != tt.want {
			t.Errorf("sanitize(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
		}
		if len(got) > maxExcerpt {
			t.Errorf("sanitize returned %d bytes", len(got))
		}
	}
}

func TestSafeCode(t *testing.T) {
	p := &Provider{key: "abc_SECRET_123"}
	for in, want := range map[string]string{
		"invalid_api_key": "invalid_api_key", "400": "400", "model_not_found": "model_not_found",
		"sk-proj-abc": "", "x abc_SECRET_123": "", "abc_SECRET_123": "", "has space": "", strings.Repeat("a", 65): "",
	} {
		if got := p.safeCode(in); got != want {
			t.Errorf("safeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuildEndpoint(t *testing.T) {
	tests := []struct {
		base  string
		query map[string]string
		want  string
	}{
		{"https://api.openai.com/v1", nil, "https://api.openai.com/v1/chat/completions"},
		{"https://api.openai.com/v1/", nil, "https://api.openai.com/v1/chat/completions"},
		{"http://localhost:11434/v1//", nil, "http://localhost:11434/v1/chat/completions"},
		{"https://r.openai.azure.com/openai/deployments/gpt-4o", map[string]string{"api-version": "2024-10-21"},
			"https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"},
		{"https://h/v1?api-version=old&x=1", map[string]string{"api-version": "new"}, "https://h/v1/chat/completions?api-version=new&x=1"},
	}
	for _, tt := range tests {
		got, err := buildEndpoint(tt.base, tt.query)
		if err != nil || got != tt.want {
			t.Errorf("buildEndpoint(%q, %v) = %q, %v; want %q", tt.base, tt.query, got, err, tt.want)
		}
	}
}
