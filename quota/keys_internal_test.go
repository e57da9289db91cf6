package quota

import (
	"context"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
)

// TestKeysFor pins the counter keys: they name state in Redis that
// replicas of every version share, so they must not change.
func TestKeysFor(t *testing.T) {
	lim := &config.Limit{Name: "per_user_route", Scope: []string{config.ScopeUser, config.ScopeRoute, config.ScopeAPIKey},
		RequestsPerMinute: 1, TokensPerMinute: 1, ConcurrentStreams: 1, USDPerDay: 1, USDPerMonth: 1}
	req := Request{User: "a|b=c{d}%e", Route: "career", Client: "k1"}
	now := time.Date(2026, 12, 5, 23, 59, 0, 0, time.FixedZone("x", -3600)) // already the 6th in UTC
	got := keysFor(lim, req, now)
	base := "per_user_route|user=a%7Cb%3Dc%7Bd%7D%25e|route=career|api_key=k1"
	want := limitKeys{rpm: base + "|rpm", tpm: base + "|tpm", streams: base + "|streams",
		day: base + "|day=2026-12-06", month: base + "|month=2026-12"}
	if got != want {
		t.Errorf("keysFor =\n%+v\nwant\n%+v", got, want)
	}
	// The day's names are kept between calls: a new day gets its own.
	next := keysFor(&config.Limit{Name: "g", USDPerDay: 1, USDPerMonth: 1}, req, now.Add(24*time.Hour))
	if next.day != "g|day=2026-12-07" || next.month != "g|month=2026-12" {
		t.Errorf("the next day's keys: %+v", next)
	}
	if k := keysFor(&config.Limit{Name: "global", TokensPerMinute: 5}, req, now); k != (limitKeys{tpm: "global|tpm"}) {
		t.Errorf("an unscoped limit with one dimension: %+v", k)
	}
}

// TestCommitChargesTheBudgetOfItsOwnPeriod: a request reserved before
// midnight UTC and committed after it is charged to the new day.
func TestCommitChargesTheBudgetOfItsOwnPeriod(t *testing.T) {
	now := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	st := NewMemoryStore()
	l := New(config.RateLimits{Limits: []config.Limit{{Name: "u", Scope: []string{config.ScopeUser}, USDPerDay: 10, USDPerMonth: 100}}},
		Options{Store: st, Now: func() time.Time { return now }})
	ctx := context.Background()
	r, err := l.Reserve(ctx, Request{User: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	if err := r.Commit(ctx, 10, 0.25); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{
		"u|user=u1|day=2027-01-01": 0.25, "u|user=u1|month=2027-01": 0.25,
		"u|user=u1|day=2026-12-31": 0, "u|user=u1|month=2026-12": 0,
	} {
		before, err := st.Adjust(ctx, now, "probe", []Counter{{Key: key, Kind: KindUSDPerDay, Max: 10, Expires: now.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		if before[0] != want {
			t.Errorf("%s = %v, want %v", key, before[0], want)
		}
	}
}
