// Package quotatest is the conformance suite every [quota.Store] runs,
// through a [quota.Limiter], so that the memory and the Redis store
// enforce rate_limits.json the same way.
package quotatest

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/quota"
)

// Factory returns a new, empty store, independent of every store it
// returned before (e.g. a fresh Redis key prefix). It is called once per
// subtest.
type Factory func(t *testing.T) quota.Store

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, quota.Store)
	}{
		{"RequestsPerMinute", testRPM},
		{"TokensReserveAndReconcile", testTPM},
		{"ReleaseRefundsTokensNotRequests", testRelease},
		{"ConcurrentStreams", testStreams},
		{"AllOrNothing", testAllOrNothing},
		{"Budgets", testBudgets},
		{"MonthlyBudget", testMonthlyBudget},
		{"Scopes", testScopes},
		{"Filters", testFilters},
		{"TooLarge", testTooLarge},
		{"Concurrent", testConcurrent},
		{"Remaining", testRemaining},
		{"IgnoreBudgets", testIgnoreBudgets},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// Clock is a settable clock for a limiter.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Events records what a limiter tells its observer.
type Events struct {
	mu       sync.Mutex
	Rejects  []*quota.ExceededError
	Budgets  []quota.BudgetEvent
	Failures []error
}

// Rejected implements [quota.Observer].
func (e *Events) Rejected(_ quota.Request, err *quota.ExceededError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Rejects = append(e.Rejects, err)
}

// BudgetCrossed implements [quota.Observer].
func (e *Events) BudgetCrossed(ev quota.BudgetEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Budgets = append(e.Budgets, ev)
}

// StoreError implements [quota.Observer].
func (e *Events) StoreError(err error, _ bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Failures = append(e.Failures, err)
}

// start is the suite's time: mid-morning UTC, mid-month.
var start = time.Date(2025, 11, 14, 9, 30, 0, 0, time.UTC)

type fixture struct {
	l     *quota.Limiter
	clock *Clock
	ev    *Events
}

func newFixture(s quota.Store, limits ...config.Limit) *fixture {
	f := &fixture{clock: NewClock(start), ev: &Events{}}
	f.l = quota.New(config.RateLimits{Limits: limits}, quota.Options{
		Store: s, Observer: f.ev, Now: f.clock.Now, OnStoreFailure: quota.FailClosed,
	})
	return f
}

var ctx = context.Background()

// mustReserve reserves req and fails the test if it is refused.
func (f *fixture) mustReserve(t *testing.T, req quota.Request) *quota.Reservation {
	t.Helper()
	r, err := f.l.Reserve(ctx, req)
	if err != nil {
		t.Fatalf("Reserve(%+v) at %s: %v", req, f.clock.Now().Format(time.TimeOnly), err)
	}
	return r
}

// mustExceed reserves req and expects a refusal by limit.
func (f *fixture) mustExceed(t *testing.T, req quota.Request, limit string) {
	t.Helper()
	_ = f.exceedErr(t, req, limit)
}

// exceedErr reserves req, expects a refusal by limit and returns it.
func (f *fixture) exceedErr(t *testing.T, req quota.Request, limit string) *quota.ExceededError {
	t.Helper()
	r, err := f.l.Reserve(ctx, req)
	if err == nil {
		_ = r.Release(ctx)
		t.Fatalf("Reserve(%+v) admitted, want refused by %q", req, limit)
	}
	var e *quota.ExceededError
	if !errors.As(err, &e) || !errors.Is(err, quota.ErrExceeded) {
		t.Fatalf("Reserve(%+v) = %v, want an ExceededError", req, err)
	}
	if e.Limit != limit {
		t.Fatalf("refused by %q (%v), want %q", e.Limit, e, limit)
	}
	if e.RetryAfter <= 0 {
		t.Fatalf("RetryAfter %v, want > 0", e.RetryAfter)
	}
	return e
}

var u1 = quota.Request{Client: "web", User: "u1", Route: "advice", EstimatedTokens: 10}

func testRPM(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "rpm", Scope: []string{config.ScopeUser}, RequestsPerMinute: 5})
	for range 5 {
		if err := f.mustReserve(t, u1).Commit(ctx, 10, 0); err != nil {
			t.Fatal(err)
		}
	}
	e := f.exceedErr(t, u1, "rpm")
	if e.Kind != quota.KindRequests || e.Remaining != 0 || e.Max != 5 {
		t.Errorf("error %+v, want requests_per_minute, none remaining, max 5", e)
	}
	// A full window frees one request every 12s.
	if e.RetryAfter > 12*time.Second || e.RetryAfter < 11*time.Second {
		t.Errorf("RetryAfter %v, want about 12s", e.RetryAfter)
	}
	f.clock.Advance(e.RetryAfter - time.Millisecond)
	f.mustExceed(t, u1, "rpm")
	f.clock.Advance(time.Millisecond)
	f.mustReserve(t, u1)
	f.mustExceed(t, u1, "rpm")
	f.clock.Advance(time.Minute)
	for range 5 {
		f.mustReserve(t, u1)
	}
	f.mustExceed(t, u1, "rpm")
	if n := len(f.ev.Rejects); n != 4 {
		t.Errorf("observer saw %d rejections, want 4", n)
	}
}

func testTPM(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "tpm", TokensPerMinute: 1000})
	req := u1
	req.EstimatedTokens = 600
	a := f.mustReserve(t, req)
	e := f.exceedErr(t, req, "tpm")
	if e.Kind != quota.KindTokens || e.Remaining != 400 {
		t.Errorf("error %+v, want tokens_per_minute with 400 remaining", e)
	}
	// 200 tokens more than the window holds drain in 12s.
	if e.RetryAfter < 11*time.Second || e.RetryAfter > 12*time.Second {
		t.Errorf("RetryAfter %v, want about 12s", e.RetryAfter)
	}
	// The first used 200 of its 600: the refund makes room.
	if err := a.Commit(ctx, 200, 0); err != nil {
		t.Fatal(err)
	}
	b := f.mustReserve(t, req) // 800 held
	// The second used 900: 300 more than estimated, charged past the limit.
	if err := b.Commit(ctx, 900, 0); err != nil {
		t.Fatal(err)
	}
	small := u1
	small.EstimatedTokens = 0
	e = f.exceedErr(t, small, "tpm") // 1100 held
	if e.Remaining != 0 {
		t.Errorf("remaining %v after the overshoot, want 0", e.Remaining)
	}
	// The 100 over drain in 6s, the next 100 in 6 more.
	f.clock.Advance(6 * time.Second)
	small.EstimatedTokens = 1
	f.mustExceed(t, small, "tpm")
	f.clock.Advance(6 * time.Second)
	small.EstimatedTokens = 100
	f.mustReserve(t, small)
}

func testRelease(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "both", RequestsPerMinute: 2, TokensPerMinute: 100})
	req := u1
	req.EstimatedTokens = 100
	if err := f.mustReserve(t, req).Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := f.mustReserve(t, req) // the tokens came back
	if err := r.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(ctx, 5000, 1); err != nil { // after Release: nothing
		t.Fatal(err)
	}
	req.EstimatedTokens = 1
	e := f.exceedErr(t, req, "both") // but both requests counted
	if e.Kind != quota.KindRequests {
		t.Errorf("refused by %s, want requests_per_minute", e.Kind)
	}
}

func testStreams(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "streams", Scope: []string{config.ScopeAPIKey}, ConcurrentStreams: 2})
	st := u1
	st.Stream = true
	a, b := f.mustReserve(t, st), f.mustReserve(t, st)
	e := f.exceedErr(t, st, "streams")
	if e.Kind != quota.KindStreams || e.Remaining != 0 || e.RetryAfter != quota.StreamRetryAfter {
		t.Errorf("error %+v, want concurrent_streams, none remaining, RetryAfter %v", e, quota.StreamRetryAfter)
	}
	f.mustReserve(t, u1) // not a stream: takes no slot
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx); err != nil { // twice frees one slot only
		t.Fatal(err)
	}
	c := f.mustReserve(t, st)
	f.mustExceed(t, st, "streams")
	if err := b.Commit(ctx, 10, 0); err != nil {
		t.Fatal(err)
	}
	f.mustReserve(t, st)
	f.mustExceed(t, st, "streams")
	_ = c
	// A slot never ended frees when its lease does.
	f.clock.Advance(quota.DefaultStreamLease + time.Second)
	f.mustReserve(t, st)
	f.mustReserve(t, st)
}

func testAllOrNothing(t *testing.T, s quota.Store) {
	f := newFixture(s,
		config.Limit{Name: "a_rpm", RequestsPerMinute: 3},
		config.Limit{Name: "b_tpm", TokensPerMinute: 100},
	)
	big := u1
	big.EstimatedTokens = 80
	f.mustReserve(t, big)
	for range 5 { // refused by b: must not use a's requests
		f.mustExceed(t, big, "b_tpm")
	}
	small := u1
	small.EstimatedTokens = 10
	f.mustReserve(t, small)
	f.mustReserve(t, small)
	f.mustExceed(t, small, "a_rpm") // 3 requests: refused by a, b keeps its 100
	f.clock.Advance(time.Minute)
	full := u1
	full.EstimatedTokens = 100
	f.mustReserve(t, full)
}

func testBudgets(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "team", Scope: []string{config.ScopeAPIKey}, USDPerDay: 1})
	const cost = 0.3
	spent := 0.0
	for {
		r, err := f.l.Reserve(ctx, u1)
		if err != nil {
			var e *quota.ExceededError
			if !errors.As(err, &e) || e.Kind != quota.KindUSDPerDay {
				t.Fatalf("Reserve: %v, want the day's budget exceeded", err)
			}
			if want := 14*time.Hour + 30*time.Minute; e.RetryAfter != want {
				t.Errorf("RetryAfter %v, want %v (midnight UTC)", e.RetryAfter, want)
			}
			break
		}
		if err := r.Commit(ctx, 10, cost); err != nil {
			t.Fatal(err)
		}
		spent += cost
		if spent > 2 {
			t.Fatal("the budget does not stop spend")
		}
	}
	if spent < 1 || spent > 1+cost+1e-9 {
		t.Errorf("spent %v, want within one request (%v) past the budget of 1", spent, cost)
	}
	f.mustExceed(t, u1, "team")
	ev := f.ev.Budgets
	if len(ev) != 2 || ev[0].Threshold != quota.BudgetWarning || ev[1].Threshold != quota.BudgetExhausted {
		t.Fatalf("budget events %+v, want 80%% then 100%%, once each", ev)
	}
	if ev[0].Key != "team|api_key=web|day=2025-11-14" || ev[0].Kind != quota.KindUSDPerDay ||
		math.Abs(ev[0].Spent-0.9) > 1e-9 || ev[0].Budget != 1 || !ev[0].Period.Equal(time.Date(2025, 11, 14, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("80%% event %+v", ev[0])
	}
	// Another group has its own budget; the next day starts afresh.
	other := u1
	other.Client = "ops"
	f.mustReserve(t, other)
	f.clock.Advance(15 * time.Hour)
	r := f.mustReserve(t, u1)
	if err := r.Commit(ctx, 10, 0.85); err != nil {
		t.Fatal(err)
	}
	if n := len(f.ev.Budgets); n != 3 {
		t.Errorf("%d budget events, want 3 (a warning of the new day)", n)
	}
}

func testMonthlyBudget(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "month", USDPerMonth: 10, USDPerDay: 8})
	r := f.mustReserve(t, u1)
	if err := r.Commit(ctx, 10, 7.9); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	r = f.mustReserve(t, u1)
	if err := r.Commit(ctx, 10, 2.5); err != nil {
		t.Fatal(err)
	}
	e := f.exceedErr(t, u1, "month")
	if e.Kind != quota.KindUSDPerMonth {
		t.Fatalf("refused by %s, want usd_per_month", e.Kind)
	}
	if want := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Sub(f.clock.Now()); e.RetryAfter != want {
		t.Errorf("RetryAfter %v, want %v", e.RetryAfter, want)
	}
	// Day: 7.9 crossed 80% of 8; month: 10.4 crossed 80% and 100% of 10.
	if n := len(f.ev.Budgets); n != 3 {
		t.Errorf("budget events %+v, want 3", f.ev.Budgets)
	}
}

func testScopes(t *testing.T, s quota.Store) {
	f := newFixture(s,
		config.Limit{Name: "global", RequestsPerMinute: 100},
		config.Limit{Name: "per_user", Scope: []string{config.ScopeUser}, RequestsPerMinute: 1},
		config.Limit{Name: "key_route", Scope: []string{config.ScopeAPIKey, config.ScopeRoute}, RequestsPerMinute: 2},
	)
	req := func(client, user, route string) quota.Request {
		return quota.Request{Client: client, User: user, Route: route}
	}
	f.mustReserve(t, req("web", "u1", "a"))
	f.mustExceed(t, req("web", "u1", "b"), "per_user")
	f.mustReserve(t, req("web", "u2", "a"))
	f.mustExceed(t, req("web", "u3", "a"), "key_route") // web×a has had 2
	f.mustReserve(t, req("web", "u3", "b"))
	f.mustReserve(t, req("ops", "u4", "a"))
	// A value cannot pose as another scope's: "u5|route=a" is one user.
	f.mustReserve(t, req("ops", "u5|route=a", "b"))
	f.mustReserve(t, req("ops", "u5", "b"))
	f2 := newFixture(s, config.Limit{Name: "global2", RequestsPerMinute: 2})
	f2.mustReserve(t, req("web", "u1", "a"))
	f2.mustReserve(t, req("ops", "u2", "b"))
	f2.mustExceed(t, req("x", "u3", "c"), "global2")
}

func testFilters(t *testing.T, s quota.Store) {
	f := newFixture(s,
		config.Limit{Name: "route_a", Routes: []string{"a"}, RequestsPerMinute: 1},
		config.Limit{Name: "client_web", Clients: []string{"web"}, RequestsPerMinute: 1},
	)
	f.mustReserve(t, quota.Request{Client: "ops", Route: "a"})
	f.mustExceed(t, quota.Request{Client: "ops", Route: "a"}, "route_a")
	for range 3 {
		f.mustReserve(t, quota.Request{Client: "ops", Route: "b"}) // no limit matches
	}
	f.mustReserve(t, quota.Request{Client: "web", Route: "b"})
	f.mustExceed(t, quota.Request{Client: "web", Route: "b"}, "client_web")
	// A client is matched by name as well as by quota group.
	f.mustExceed(t, quota.Request{Client: "group", ClientName: "web", Route: "b"}, "client_web")
}

func testTooLarge(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "tpm", TokensPerMinute: 100})
	req := u1
	req.EstimatedTokens = 101
	_, err := f.l.Reserve(ctx, req)
	var e *quota.ExceededError
	if !errors.As(err, &e) || !e.TooLarge || e.Limit != "tpm" {
		t.Fatalf("Reserve = %v, want TooLarge", err)
	}
	req.EstimatedTokens = 100
	f.mustReserve(t, req)
}

func testConcurrent(t *testing.T, s quota.Store) {
	f := newFixture(s,
		config.Limit{Name: "rpm", RequestsPerMinute: 100},
		config.Limit{Name: "streams", ConcurrentStreams: 5},
		config.Limit{Name: "budget", USDPerDay: 1000},
	)
	var admitted, maxStreams, streams atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				req := u1
				req.Stream = (g+i)%2 == 0
				r, err := f.l.Reserve(ctx, req)
				if err != nil {
					if !errors.Is(err, quota.ErrExceeded) {
						t.Errorf("Reserve: %v", err)
					}
					continue
				}
				admitted.Add(1)
				if req.Stream {
					n := streams.Add(1)
					for m := maxStreams.Load(); n > m && !maxStreams.CompareAndSwap(m, n); m = maxStreams.Load() {
					}
					streams.Add(-1)
				}
				if i%3 == 0 {
					err = r.Release(ctx)
				} else {
					err = r.Commit(ctx, 5, 0.01)
				}
				if err != nil {
					t.Errorf("end: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != 100 {
		t.Errorf("admitted %d of 240 at one instant, want exactly 100", n)
	}
	if n := maxStreams.Load(); n > 5 {
		t.Errorf("%d streams at once, want at most 5", n)
	}
	// Every slot was freed.
	f.clock.Advance(time.Minute)
	st := u1
	st.Stream = true
	for range 5 {
		f.mustReserve(t, st)
	}
	f.mustExceed(t, st, "streams")
}

// remaining checks r.Remaining() against want, which lists per counter
// its kind, max, remaining and reset (within a microsecond).
func remaining(t *testing.T, r *quota.Reservation, limit string, want ...quota.Remaining) {
	t.Helper()
	got := r.Remaining()
	if len(got) != len(want) {
		t.Fatalf("Remaining() = %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		d := g.Reset - w.Reset
		if g.Limit != limit || g.Kind != w.Kind || g.Max != w.Max || math.Abs(g.Remaining-w.Remaining) > 1e-9 ||
			d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("Remaining()[%d] = %+v, want %+v of limit %q", i, g, w, limit)
		}
	}
}

func testRemaining(t *testing.T, s quota.Store) {
	f := newFixture(s, config.Limit{Name: "all", Scope: []string{config.ScopeUser},
		RequestsPerMinute: 5, TokensPerMinute: 1000, ConcurrentStreams: 2, USDPerDay: 1, USDPerMonth: 10})
	midnight := 14*time.Hour + 30*time.Minute
	monthEnd := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Sub(start)
	rem := func(k quota.Kind, maxv, left float64, reset time.Duration) quota.Remaining {
		return quota.Remaining{Kind: k, Max: maxv, Remaining: left, Reset: reset}
	}
	// Each reservation takes one request, its tokens and a slot: what
	// remains is the max less what the reservations hold.
	st := u1
	st.Stream = true
	var requests, tokens, streams float64
	var held []*quota.Reservation
	for _, est := range []int64{100, 250} {
		st.EstimatedTokens = est
		r := f.mustReserve(t, st)
		held = append(held, r)
		requests, tokens, streams = requests+1, tokens+float64(est), streams+1
		remaining(t, r, "all",
			rem(quota.KindRequests, 5, 5-requests, time.Duration(requests/5*float64(time.Minute))),
			rem(quota.KindTokens, 1000, 1000-tokens, time.Duration(tokens/1000*float64(time.Minute))),
			rem(quota.KindStreams, 2, 2-streams, 0),
			rem(quota.KindUSDPerDay, 1, 1, midnight),
			rem(quota.KindUSDPerMonth, 10, 10, monthEnd),
		)
	}
	// The commits free the slots and spend 0.75 of the budgets.
	if err := held[0].Commit(ctx, 100, 0.25); err != nil {
		t.Fatal(err)
	}
	if err := held[1].Commit(ctx, 250, 0.5); err != nil {
		t.Fatal(err)
	}
	r := f.mustReserve(t, quota.Request{User: "u1"}) // no tokens, no stream
	remaining(t, r, "all",
		rem(quota.KindRequests, 5, 2, 36*time.Second),
		rem(quota.KindTokens, 1000, 650, 21*time.Second),
		rem(quota.KindUSDPerDay, 1, 0.25, midnight),
		rem(quota.KindUSDPerMonth, 10, 9.25, monthEnd),
	)
	// 30s drain 2.5 requests and 500 tokens: 1.5 requests are held after
	// the next one (3.5 remain, of which 3 whole), and 10 tokens.
	f.clock.Advance(30 * time.Second)
	r = f.mustReserve(t, quota.Request{User: "u1", EstimatedTokens: 10})
	remaining(t, r, "all",
		rem(quota.KindRequests, 5, 3, 18*time.Second),
		rem(quota.KindTokens, 1000, 990, 600*time.Millisecond),
		rem(quota.KindUSDPerDay, 1, 0.25, midnight-30*time.Second),
		rem(quota.KindUSDPerMonth, 10, 9.25, monthEnd-30*time.Second),
	)
	// A request no limit matches has nothing remaining to tell.
	f2 := newFixture(s, config.Limit{Name: "other", Routes: []string{"x"}, RequestsPerMinute: 1})
	if got := f2.mustReserve(t, u1).Remaining(); len(got) != 0 {
		t.Errorf("Remaining() with no limit = %+v, want none", got)
	}
}

func testIgnoreBudgets(t *testing.T, s quota.Store) {
	for _, lim := range []config.Limit{
		{Name: "team", Scope: []string{config.ScopeAPIKey}, RequestsPerMinute: 100, USDPerDay: 1, USDPerMonth: 10},
		{Name: "budget_only", Scope: []string{config.ScopeAPIKey}, USDPerDay: 1, USDPerMonth: 10},
	} {
		t.Run(lim.Name, func(t *testing.T) {
			f := newFixture(s, lim)
			if err := f.mustReserve(t, u1).Commit(ctx, 10, 1); err != nil {
				t.Fatal(err)
			}
			if e := f.exceedErr(t, u1, lim.Name); e.Kind != quota.KindUSDPerDay {
				t.Fatalf("refused by %s, want usd_per_day", e.Kind)
			}
			ig := u1
			ig.IgnoreBudgets = true
			r := f.mustReserve(t, ig)
			for _, rm := range r.Remaining() {
				if rm.Kind.IsBudget() {
					t.Errorf("Remaining() has the ignored budget %+v", rm)
				}
			}
			if lim.RequestsPerMinute > 0 {
				// The other counters are still reserved.
				remaining(t, r, lim.Name, quota.Remaining{Kind: quota.KindRequests, Max: 100, Remaining: 98,
					Reset: time.Duration(2.0 / 100 * float64(time.Minute))})
			}
			events := len(f.ev.Budgets)
			// Its cost still counts: 1 + 7.5 crosses 80% of the month.
			if err := r.Commit(ctx, 10, 7.5); err != nil {
				t.Fatal(err)
			}
			if err := r.Commit(ctx, 10, 7.5); err != nil { // once only
				t.Fatal(err)
			}
			ev := f.ev.Budgets[events:]
			if len(ev) != 1 || ev[0].Kind != quota.KindUSDPerMonth || ev[0].Threshold != quota.BudgetWarning ||
				math.Abs(ev[0].Spent-8.5) > 1e-9 {
				t.Errorf("budget events after the commit %+v, want the month's 80%% at 8.5", ev)
			}
			f.mustExceed(t, u1, lim.Name)
			// The next day, the month has 1.5 left.
			f.clock.Advance(24 * time.Hour)
			var month float64 = -1
			for _, rm := range f.mustReserve(t, u1).Remaining() {
				if rm.Kind == quota.KindUSDPerMonth {
					month = rm.Remaining
				}
			}
			if math.Abs(month-1.5) > 1e-9 {
				t.Errorf("month remaining %v, want 1.5", month)
			}
		})
	}
}
