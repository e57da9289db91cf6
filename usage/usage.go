package usage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Granularity is the length of a ledger bucket.
type Granularity int

// The granularities of the ledger. Buckets start on the UTC hour, day and
// first of the month.
const (
	Hour Granularity = iota
	Day
	Month
)

// Granularities lists every granularity, in order.
var Granularities = [...]Granularity{Hour, Day, Month}

var granularityNames = [...]string{"hour", "day", "month"}

// String is the granularity's name: "hour", "day" or "month".
func (g Granularity) String() string {
	if g < 0 || int(g) >= len(granularityNames) {
		return fmt.Sprintf("Granularity(%d)", int(g))
	}
	return granularityNames[g]
}

// valid reports whether g is one of the granularities.
func (g Granularity) valid() bool { return g >= Hour && g <= Month }

// Start returns the start of the bucket t falls in, in UTC.
func (g Granularity) Start(t time.Time) time.Time {
	t = t.UTC()
	switch g {
	case Hour:
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, time.UTC)
	case Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
}

// Add returns the start of the bucket n buckets after the one starting at
// start (before it, for a negative n).
func (g Granularity) Add(start time.Time, n int) time.Time {
	switch g {
	case Hour:
		return start.Add(time.Duration(n) * time.Hour)
	case Day:
		return start.AddDate(0, 0, n)
	default:
		return start.AddDate(0, n, 0)
	}
}

// Retention is how many buckets of each granularity a store keeps: the
// current one and this many before it.
type Retention struct {
	Hours, Days, Months int
}

// DefaultRetention keeps 48 hours, 90 days and 24 months.
var DefaultRetention = Retention{Hours: 48, Days: 90, Months: 24}

// withDefaults fills zero fields from [DefaultRetention].
func (r Retention) withDefaults() Retention {
	if r.Hours <= 0 {
		r.Hours = DefaultRetention.Hours
	}
	if r.Days <= 0 {
		r.Days = DefaultRetention.Days
	}
	if r.Months <= 0 {
		r.Months = DefaultRetention.Months
	}
	return r
}

// of is the number of buckets of g kept before the current one.
func (r Retention) of(g Granularity) int {
	switch g {
	case Hour:
		return r.Hours
	case Day:
		return r.Days
	default:
		return r.Months
	}
}

// ExpiresAt is when the bucket of g starting at start is forgotten.
func (r Retention) ExpiresAt(g Granularity, start time.Time) time.Time {
	return g.Add(start, r.of(g)+1)
}

// Nanos is an amount of US dollars in billionths. The ledger keeps money
// in integers so that sums are exact; one answer's cost is rounded to the
// nearest nano-dollar once, when it is recorded.
type Nanos int64

// NanosPerUSD is one US dollar.
const NanosPerUSD = 1e9

// FromUSD converts dollars to [Nanos], rounding to the nearest; NaN,
// negative and infinite amounts are 0.
func FromUSD(usd float64) Nanos {
	if !(usd > 0) || math.IsInf(usd, 1) || usd >= math.MaxInt64/NanosPerUSD {
		return 0
	}
	return Nanos(math.Round(usd * NanosPerUSD))
}

// USD is the amount in dollars.
func (n Nanos) USD() float64 { return float64(n) / NanosPerUSD }

// Dims are the dimensions an entry is recorded under. An empty field is
// unknown (a stale or degraded answer has no provider; a model override
// has no route).
type Dims struct {
	// Client is the API client's name from clients.json ("anonymous" when
	// authentication is disabled); never its key.
	Client string
	// Provider and Model answered (the model as the provider named it).
	Provider, Model string
	// Route is the route the request took.
	Route string
}

// MaxDimBytes bounds each dimension; longer values are cut.
const MaxDimBytes = 256

// clean makes d storable: at most [MaxDimBytes] per field, without
// control characters or '|' (the Redis store's separator), which become
// '_'.
func (d Dims) clean() Dims {
	f := func(s string) string {
		if len(s) > MaxDimBytes {
			s = s[:MaxDimBytes]
		}
		return strings.Map(func(r rune) rune {
			if r < ' ' || r == '|' || r == 0x7f {
				return '_'
			}
			return r
		}, s)
	}
	return Dims{Client: f(d.Client), Provider: f(d.Provider), Model: f(d.Model), Route: f(d.Route)}
}

// Counts are what the ledger adds up.
type Counts struct {
	// Requests counts answers served, cache hits included.
	Requests int64
	// CacheHits counts answers served from the gateway's answer cache.
	CacheHits int64
	// InputTokens, OutputTokens and CachedInputTokens are the tokens
	// providers billed (cached input tokens are part of input tokens).
	// Cache hits add none: nothing was billed for them.
	InputTokens, OutputTokens, CachedInputTokens int64
	// Cost is what the answers cost.
	Cost Nanos
	// Saved is what the cache hits would have cost at their model's price.
	Saved Nanos
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Requests += o.Requests
	c.CacheHits += o.CacheHits
	c.InputTokens += o.InputTokens
	c.OutputTokens += o.OutputTokens
	c.CachedInputTokens += o.CachedInputTokens
	c.Cost += o.Cost
	c.Saved += o.Saved
}

// Entry is one answer, as the server records it.
type Entry struct {
	// Time is when the answer was served; it picks the buckets.
	Time time.Time
	// Dims say who asked and who answered.
	Dims
	// CacheHit marks an answer from the gateway's answer cache.
	CacheHit bool
	// InputTokens, OutputTokens and CachedInputTokens are the tokens the
	// provider billed; zero for a cache hit.
	InputTokens, OutputTokens, CachedInputTokens int64
	// Cost is what the answer cost; zero for a cache hit.
	Cost Nanos
	// Saved is what a cache hit would have cost.
	Saved Nanos
}

// ErrInvalid is wrapped by the errors for entries and queries that break
// the rules documented on their fields.
var ErrInvalid = errors.New("usage: invalid")

// counts is the entry as the counts it adds.
func (e *Entry) counts() (Counts, error) {
	if e.Time.IsZero() {
		return Counts{}, fmt.Errorf("%w entry: no time", ErrInvalid)
	}
	if e.InputTokens < 0 || e.OutputTokens < 0 || e.CachedInputTokens < 0 || e.Cost < 0 || e.Saved < 0 {
		return Counts{}, fmt.Errorf("%w entry: tokens and amounts must not be negative", ErrInvalid)
	}
	c := Counts{Requests: 1, InputTokens: e.InputTokens, OutputTokens: e.OutputTokens,
		CachedInputTokens: e.CachedInputTokens, Cost: e.Cost, Saved: e.Saved}
	if e.CacheHit {
		c.CacheHits = 1
	}
	return c, nil
}

// Bucket is one bucket's counts, per dimensions.
type Bucket struct {
	// Start is the start of the bucket, in UTC.
	Start time.Time
	// Counts are the bucket's counts by the dimensions they were recorded
	// under.
	Counts map[Dims]Counts
}

// Store keeps the ledger. Implementations are safe for concurrent use;
// several [RedisStore]s on one Redis share one ledger.
type Store interface {
	// Record adds one answer to its hour, day and month. It is on every
	// request's path and must be cheap.
	Record(ctx context.Context, e Entry) error
	// Load returns the buckets of g that start in [from, to), oldest
	// first, leaving out empty and forgotten ones. from and to are bucket
	// starts.
	Load(ctx context.Context, g Granularity, from, to time.Time) ([]Bucket, error)
}

// BatchStore is a [Store] that records several entries in one call, such
// as [RedisStore] in one pipelined round trip. The gateway's ledger uses
// it to write the answers that queued up while it wrote the last ones.
type BatchStore interface {
	Store
	// RecordAll records every entry of es, as [Store.Record] each. On an
	// error, none or some of them may have been recorded.
	RecordAll(ctx context.Context, es []Entry) error
}
