package quota_test

import (
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
)

func TestEstimateTokens(t *testing.T) {
	msgs := []providers.Message{
		{Role: providers.RoleSystem, Content: "You are a career coach."},
		{Role: providers.RoleUser, Content: "How do I move from QA into data engineering?"},
	}
	// o200k_base: 6 and 10 tokens, plus 2×4 framing and 3 for the reply.
	tests := []struct {
		model string
		want  int
	}{
		{"gpt-4o-mini", 6 + 10 + 8 + 3},
		{"gpt-4.1", 6 + 10 + 8 + 3},
		{"claude-3-5-haiku", (23+44+3)/4 + 8 + 3}, // bytes/4
		{"", (23+44+3)/4 + 8 + 3},
	}
	for _, tc := range tests {
		if got := quota.EstimateTokens(tc.model, msgs); got != tc.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tc.model, got, tc.want)
		}
	}
	if got := quota.EstimateTokens("gpt-4o", nil); got != 3 {
		t.Errorf("no messages: %d, want 3", got)
	}
	// Past 64 KiB the estimate is used even for OpenAI models.
	big := []providers.Message{{Role: providers.RoleUser, Content: strings.Repeat("a", 300<<10)}}
	if got, want := quota.EstimateTokens("gpt-4o", big), (300<<10+3)/4+4+3; got != want {
		t.Errorf("large input: %d, want %d", got, want)
	}
}

func BenchmarkEstimateTokens(b *testing.B) {
	msgs := []providers.Message{{Role: providers.RoleUser, Content: strings.Repeat("How do I move from QA into data engineering? ", 40)}}
	for _, model := range []string{"gpt-4o", "claude-3-5-haiku"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				quota.EstimateTokens(model, msgs)
			}
		})
	}
}
