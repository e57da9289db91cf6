package usage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/usage"
	"github.com/careerpath/llmgateway/usage/usagetest"
)

func TestMemoryStore(t *testing.T) {
	usagetest.Run(t, func(_ *testing.T, r usage.Retention) usage.Store {
		return usage.NewMemoryStore(usage.MemoryOptions{Retention: r})
	})
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestMemoryStoreRollover: as the clock moves on, new answers go to new
// buckets, and buckets past their retention are forgotten, hours first.
func TestMemoryStoreRollover(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)}
	s := usage.NewMemoryStore(usage.MemoryOptions{Now: clk.now})
	rec := func(tokens int64) {
		t.Helper()
		if err := s.Record(ctx, usage.Entry{Time: clk.now(), Dims: usagetest.Dims(0), InputTokens: tokens, Cost: usage.Nanos(tokens)}); err != nil {
			t.Fatal(err)
		}
	}
	total := func(g usage.Granularity, start time.Time) int64 {
		t.Helper()
		r, err := usage.Report(ctx, s, usage.Query{Granularity: g, Start: start}, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		return r.Total.InputTokens
	}
	rec(1)
	clk.advance(45 * time.Minute) // 2026-01-01 00:15: a new hour, day, month and year
	rec(2)
	newYear := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, g := range usage.Granularities {
		if got := total(g, newYear); got != 2 {
			t.Errorf("%s from the new year: %d, want 2", g, got)
		}
		if got := total(g, newYear.Add(-time.Minute)); got != 3 {
			t.Errorf("%s from the old year: %d, want 3", g, got)
		}
	}
	clk.advance(48 * time.Hour) // hour buckets of the 31st are forgotten
	rec(4)
	if got := total(usage.Hour, newYear.AddDate(0, 0, -1)); got != 2|4 {
		t.Errorf("hours after 48h: %d, want 6", got)
	}
	if got := total(usage.Day, newYear.AddDate(0, 0, -1)); got != 1|2|4 {
		t.Errorf("days after 48h: %d, want 7", got)
	}
	clk.advance(88 * 24 * time.Hour) // 2026-04-01: the 31st of December is forgotten, the 1st of January not yet
	if got := total(usage.Day, newYear.AddDate(0, 0, -10)); got != 2|4 {
		t.Errorf("days after 90 days: %d, want 6", got)
	}
	if got := total(usage.Month, newYear.AddDate(-1, 0, 0)); got != 1|2|4 {
		t.Errorf("months after 90 days: %d, want 7", got)
	}
	clk.advance(2 * 365 * 24 * time.Hour)
	if got := total(usage.Month, newYear.AddDate(-1, 0, 0)); got != 0 {
		t.Errorf("months after two years: %d, want 0", got)
	}
}
