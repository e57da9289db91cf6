package quota

import (
	"context"
	"math"
	"time"
)

// Window is the period of the requests_per_minute and tokens_per_minute
// limits.
const Window = time.Minute

// Kind is the dimension a [Counter] counts.
type Kind uint8

// The kinds of counters, one per field of a config.Limit.
const (
	// KindRequests is a requests_per_minute window (GCRA).
	KindRequests Kind = iota + 1
	// KindTokens is a tokens_per_minute window (GCRA).
	KindTokens
	// KindStreams is a concurrent_streams counter of leased slots.
	KindStreams
	// KindUSDPerDay is the spend of one UTC day.
	KindUSDPerDay
	// KindUSDPerMonth is the spend of one UTC month.
	KindUSDPerMonth
)

// String returns the config field the kind comes from.
func (k Kind) String() string {
	switch k {
	case KindRequests:
		return "requests_per_minute"
	case KindTokens:
		return "tokens_per_minute"
	case KindStreams:
		return "concurrent_streams"
	case KindUSDPerDay:
		return "usd_per_day"
	case KindUSDPerMonth:
		return "usd_per_month"
	}
	return "unknown"
}

// IsBudget reports whether k is a spend budget.
func (k Kind) IsBudget() bool { return k == KindUSDPerDay || k == KindUSDPerMonth }

// isRate reports whether k is a per-minute window.
func (k Kind) isRate() bool { return k == KindRequests || k == KindTokens }

// Counter is one counter a [Store] checks or changes.
type Counter struct {
	// Key names the counter, unique across limits, scope values, kinds
	// and budget periods, e.g. "per_user|user=u42|rpm". A store may prefix
	// it.
	Key string
	// Kind is what the counter counts.
	Kind Kind
	// Max is the limit: requests or tokens per [Window], streams, or USD.
	Max float64
	// N is the amount: requests or tokens to consume (negative refunds in
	// [Store.Adjust]), 1 stream slot to lease (negative releases it), or
	// USD to add to a budget (0 in [Store.Reserve]: a budget is checked,
	// not consumed, when a request starts).
	N float64
	// Expires is, for a stream slot, the end of its lease (a slot whose
	// holder died is freed then) and, for a budget, when the period's
	// counter may be deleted. Windows ignore it.
	Expires time.Time
}

// Denial says why [Store.Reserve] consumed nothing.
type Denial struct {
	// Index is the position of the first counter that did not fit.
	Index int
	// RetryAfter is, for a window, how long until the request would fit;
	// other kinds leave it 0 (the [Limiter] fills it in).
	RetryAfter time.Duration
	// Remaining is what is left of the counter now, in its unit.
	Remaining float64
}

// Store keeps the counters of a [Limiter]. Implementations are safe for
// concurrent use, and each call is atomic: no other call sees a part of
// its changes.
//
// Times are the caller's, so that every replica and implementation
// computes the same windows; replicas sharing a store need clocks in sync
// to well under a second (NTP).
type Store interface {
	// Reserve checks every counter at now and, only if all of them fit,
	// consumes them all: windows take N, stream counters lease a slot for
	// id until Expires, budgets are checked (spent < Max) and left alone.
	// When it consumed, it returns a nil Denial and, per counter, what is
	// left of it right after this reservation, in its unit and unrounded:
	// Max minus the window's level, minus the live stream slots (this one
	// included), or minus the budget's spend. Otherwise it returns the
	// first counter that did not fit (and consumed nothing) and no
	// remaining values.
	Reserve(ctx context.Context, now time.Time, id string, cs []Counter) (remaining []float64, d *Denial, err error)
	// Adjust changes counters without checking their limits: windows add
	// N (negative refunds, never below empty), a stream counter with
	// negative N frees id's slot, budgets add N. It returns, per counter,
	// a budget's spend before the change (0 for other kinds).
	Adjust(ctx context.Context, now time.Time, id string, cs []Counter) ([]float64, error)
}

// epsilon absorbs floating-point error when a window is filled exactly.
const epsilon = 1e-6

// windowMicros is [Window] in microseconds, the unit of time in stores.
const windowMicros = float64(Window / time.Microsecond)

// bucket is the state of a window: a leaky bucket that holds level units
// at time last (µs) and drains at max per [Window]. It is the GCRA in its
// meter form; the Redis script does the same arithmetic.
type bucket struct {
	level float64
	last  int64
}

// at returns the bucket's level at now.
func (b bucket) at(now int64, maxv float64) float64 {
	l := b.level - float64(now-b.last)*maxv/windowMicros
	return math.Max(0, l)
}

// micros is t in microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }
