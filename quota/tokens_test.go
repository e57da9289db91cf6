package quota_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tiktoken-go/tokenizer"

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

// A remembered count is the count: the same long contents counted again,
// in another order and beside others, under each encoding, from many
// goroutines, give what the tokenizer gives.
func TestEstimateTokensRemembers(t *testing.T) {
	for _, tc := range []struct {
		model string
		enc   tokenizer.Encoding
	}{{"gpt-4o", tokenizer.O200kBase}, {"gpt-4-turbo", tokenizer.Cl100kBase}} {
		codec, err := tokenizer.Get(tc.enc)
		if err != nil {
			t.Fatal(err)
		}
		var contents []string
		want := 0
		for i := range 20 {
			c := strconv.Itoa(i) + strings.Repeat(" What does a data engineer do all day?", i+2)
			n, err := codec.Count(c)
			if err != nil {
				t.Fatal(err)
			}
			contents, want = append(contents, c), want+n+4
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for round := range 3 {
					msgs := make([]providers.Message, len(contents))
					for i := range contents {
						msgs[i] = providers.Message{Role: providers.RoleUser, Content: contents[(i+g+round)%len(contents)]}
					}
					if got := quota.EstimateTokens(tc.model, msgs); got != want+3 {
						t.Errorf("%s round %d: %d tokens, want %d", tc.model, round, got, want+3)
					}
				}
			})
		}
		wg.Wait()
	}
}

func BenchmarkEstimateTokens(b *testing.B) {
	prompt := strings.Repeat("How do I move from QA into data engineering? ", 40) // 1.8 KB
	msgs := []providers.Message{{Role: providers.RoleUser, Content: prompt}}
	// A new prompt every time: nothing counted before can be reused.
	b.Run("gpt-4o/new", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			quota.EstimateTokens("gpt-4o", []providers.Message{{Role: providers.RoleUser, Content: strconv.Itoa(i) + prompt}})
		}
	})
	// The next turn of a conversation: a system prompt and eight earlier
	// messages counted before, and one new message.
	b.Run("gpt-4o/conversation", func(b *testing.B) {
		history := []providers.Message{{Role: providers.RoleSystem, Content: "You are a careful career coach. " + prompt[:600]}}
		for t := range 8 {
			history = append(history, providers.Message{Role: providers.RoleUser, Content: strconv.Itoa(t) + prompt[:200]})
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			quota.EstimateTokens("gpt-4o", append(history[:9:9], providers.Message{Role: providers.RoleUser, Content: "n" + strconv.Itoa(i) + prompt[:200]}))
		}
	})
	b.Run("claude-3-5-haiku", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			quota.EstimateTokens("claude-3-5-haiku", msgs)
		}
	})
}
