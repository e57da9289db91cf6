package usage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Dimension is a set of the dimensions of [Dims], for grouping.
type Dimension uint8

// The dimensions a report may group by.
const (
	ByProvider Dimension = 1 << iota
	ByModel
	ByRoute
	ByClient
)

// project keeps of d the dimensions in by.
func (by Dimension) project(d Dims) Dims {
	var out Dims
	if by&ByProvider != 0 {
		out.Provider = d.Provider
	}
	if by&ByModel != 0 {
		out.Model = d.Model
	}
	if by&ByRoute != 0 {
		out.Route = d.Route
	}
	if by&ByClient != 0 {
		out.Client = d.Client
	}
	return out
}

// matches reports whether d has every non-empty field of filter.
func matches(filter, d Dims) bool {
	return (filter.Client == "" || filter.Client == d.Client) &&
		(filter.Provider == "" || filter.Provider == d.Provider) &&
		(filter.Model == "" || filter.Model == d.Model) &&
		(filter.Route == "" || filter.Route == d.Route)
}

// DefaultBuckets is how many buckets a query without a start covers,
// ending with the bucket of its end: 24 hours, 30 days or 12 months.
var DefaultBuckets = map[Granularity]int{Hour: 24, Day: 30, Month: 12}

// MaxSpan is the longest range, from its start to its end, one query
// may ask for: 7 days of hours, 400 days of days, 1830 days (60 months)
// of months. The contract's rules on UsageRequest say the same.
var MaxSpan = map[Granularity]time.Duration{Hour: 7 * 24 * time.Hour, Day: 400 * 24 * time.Hour, Month: 1830 * 24 * time.Hour}

// Query asks for a report.
type Query struct {
	// Granularity is the length of the buckets.
	Granularity Granularity
	// Start and End bound the report: every bucket that overlaps
	// [Start, End) is in it. A zero End is now; a zero Start is
	// [DefaultBuckets] before the end.
	Start, End time.Time
	// Filter keeps only entries with its non-empty fields.
	Filter Dims
	// GroupBy are the dimensions rows are broken down by; none gives one
	// row per bucket.
	GroupBy Dimension
}

// Row is the counts of one bucket and one combination of the dimensions
// grouped by (the other dimensions are empty).
type Row struct {
	// Start is the start of the bucket.
	Start time.Time
	Dims
	Counts
}

// Result is a report.
type Result struct {
	// Granularity is the length of the buckets.
	Granularity Granularity
	// Start and End are the start of the first bucket and the end of the
	// last bucket covered.
	Start, End time.Time
	// Rows are the non-empty rows, by bucket, then provider, model, route
	// and client.
	Rows []Row
	// Total is the sum of the rows.
	Total Counts
}

// QueryError is a query that cannot be answered; it matches [ErrInvalid].
type QueryError struct {
	// Field is the query's field at fault: "granularity", "start" or "end".
	Field string
	// Reason says what is wrong.
	Reason string
}

func (e *QueryError) Error() string { return "usage: invalid query: " + e.Field + ": " + e.Reason }

// Is makes the error match [ErrInvalid].
func (e *QueryError) Is(target error) bool { return target == ErrInvalid }

// Span returns the first and the after-last bucket starts that q covers
// at now. It fails with [ErrInvalid] when the range is empty or longer
// than [MaxSpan].
func (q Query) Span(now time.Time) (from, to time.Time, err error) {
	g := q.Granularity
	if !g.valid() {
		return time.Time{}, time.Time{}, &QueryError{Field: "granularity", Reason: fmt.Sprintf("unknown granularity %d", int(g))}
	}
	if !q.Start.IsZero() && !q.End.IsZero() && !q.End.After(q.Start) {
		return time.Time{}, time.Time{}, &QueryError{Field: "end", Reason: "must be after start"}
	}
	end := q.End
	if end.IsZero() {
		end = now
	}
	to = g.Start(end)
	if to.Before(end) {
		to = g.Add(to, 1)
	}
	if q.Start.IsZero() {
		from = g.Add(to, -DefaultBuckets[g])
	} else {
		from = g.Start(q.Start)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, &QueryError{Field: "end", Reason: "must be after start"}
	}
	if !q.Start.IsZero() && end.Sub(q.Start) > MaxSpan[g] {
		return time.Time{}, time.Time{}, &QueryError{Field: "start",
			Reason: fmt.Sprintf("a report by the %s covers at most %v from start to end", g, MaxSpan[g])}
	}
	return from, to, nil
}

// Report reads q's range from st and sums it per bucket and per the
// dimensions q groups by.
func Report(ctx context.Context, st Store, q Query, now time.Time) (*Result, error) {
	from, to, err := q.Span(now)
	if err != nil {
		return nil, err
	}
	buckets, err := st.Load(ctx, q.Granularity, from, to)
	if err != nil {
		return nil, err
	}
	res := &Result{Granularity: q.Granularity, Start: from, End: to}
	for _, b := range buckets {
		rows := map[Dims]Counts{}
		for d, c := range b.Counts {
			if !matches(q.Filter, d) {
				continue
			}
			k := q.GroupBy.project(d)
			sum := rows[k]
			sum.Add(c)
			rows[k] = sum
		}
		first := len(res.Rows)
		for d, c := range rows {
			res.Rows = append(res.Rows, Row{Start: b.Start, Dims: d, Counts: c})
			res.Total.Add(c)
		}
		slices.SortFunc(res.Rows[first:], func(a, b Row) int {
			return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model),
				cmp.Compare(a.Route, b.Route), cmp.Compare(a.Client, b.Client))
		})
	}
	return res, nil
}
