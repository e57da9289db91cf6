package quotagrpc

import (
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/careerpath/llmgateway/quota"
)

// benchRemaining is what the harness's three limits leave after a
// reservation: requests and tokens of two limits each, two budgets.
var benchRemaining = []quota.Remaining{
	{Limit: "per_user", Kind: quota.KindRequests, Max: 1e8, Remaining: 99999998, Reset: time.Millisecond},
	{Limit: "per_user", Kind: quota.KindTokens, Max: 1e12, Remaining: 999999998000, Reset: 2 * time.Millisecond},
	{Limit: "per_user", Kind: quota.KindUSDPerDay, Max: 1e9, Remaining: 999999999.5, Reset: 5 * time.Hour},
	{Limit: "per_client_and_route", Kind: quota.KindRequests, Max: 1e8, Remaining: 99999990, Reset: time.Millisecond},
	{Limit: "per_client_and_route", Kind: quota.KindUSDPerMonth, Max: 1e9, Remaining: 999999990, Reset: 100 * time.Hour},
	{Limit: "gateway_tokens", Kind: quota.KindTokens, Max: 1e12, Remaining: 999999990000, Reset: 3 * time.Millisecond},
}

// The headers name, per dimension, the tightest limit's remaining, limit
// and reset.
func TestRemainingHeaders(t *testing.T) {
	got := remainingHeaders(benchRemaining)
	want := metadata.MD{
		"x-ratelimit-remaining-requests": {"99999990"}, "x-ratelimit-limit-requests": {"100000000"},
		"x-ratelimit-reset-requests":   {"0.001"},
		"x-ratelimit-remaining-tokens": {"999999990000"}, "x-ratelimit-limit-tokens": {"1000000000000"},
		"x-ratelimit-reset-tokens":  {"0.003"},
		"x-ratelimit-remaining-usd": {"999999990"}, "x-ratelimit-limit-usd": {"1000000000"},
		"x-ratelimit-reset-usd": {"360000.000"},
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if g := got[k]; len(g) != 1 || g[0] != v[0] {
			t.Errorf("%s: %q, want %q", k, g, v)
		}
	}
	if remainingHeaders(nil) != nil {
		t.Error("headers without limits")
	}
}

func BenchmarkRemainingHeaders(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		remainingHeaders(benchRemaining)
	}
}
