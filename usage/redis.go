package usage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key a [RedisStore] writes.
const DefaultRedisPrefix = "llmgw:usage:"

// DefaultRedisTimeout bounds each Redis call of a [RedisStore].
const DefaultRedisTimeout = 250 * time.Millisecond

// RedisOptions configure a [RedisStore].
type RedisOptions struct {
	// Prefix starts every key; empty means [DefaultRedisPrefix]. Gateways
	// that must not share a ledger (staging and production on one Redis)
	// use different prefixes.
	Prefix string
	// Timeout bounds each call, within the caller's own deadline; 0 means
	// [DefaultRedisTimeout].
	Timeout time.Duration
	// Retention is how many buckets are kept; zero fields take
	// [DefaultRetention].
	Retention Retention
}

// RedisStore is the [Store] that the replicas of a gateway share: every
// replica adds to the same buckets, and any of them reports the whole
// ledger.
//
// Each bucket is one hash, named by its granularity and UTC start, with
// the default prefix:
//
//	llmgw:usage:h:2025112514   an hour
//	llmgw:usage:d:20251125     a day
//	llmgw:usage:m:202511       a month
//
// whose fields are "<client>|<provider>|<model>|<route>|<counter>", the
// counters being req, hit, in, out, cached, cost and saved (nano-dollars),
// each an integer. A hash expires (EXPIREAT) when its retention ends.
// Record is one pipelined round trip of HINCRBY and EXPIREAT; Load one
// pipelined round trip of HGETALL, one per bucket in the range.
type RedisStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
	ret     Retention
}

// NewRedisStore returns a store on c. The caller owns c and closes it.
func NewRedisStore(c redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	return &RedisStore{c: c, prefix: opts.Prefix, timeout: opts.Timeout, ret: opts.Retention.withDefaults()}
}

// bucketLayouts name a bucket's key by its start.
var bucketLayouts = [...]string{Hour: "h:2006010215", Day: "d:20060102", Month: "m:200601"}

// Key is the Redis key of the bucket of g starting at start.
func (s *RedisStore) Key(g Granularity, start time.Time) string {
	return s.prefix + start.UTC().Format(bucketLayouts[g])
}

// The counter names of a hash field.
const (
	fRequests  = "req"
	fCacheHits = "hit"
	fInput     = "in"
	fOutput    = "out"
	fCached    = "cached"
	fCost      = "cost"
	fSaved     = "saved"
)

// Record implements [Store].
func (s *RedisStore) Record(ctx context.Context, e Entry) error {
	return s.RecordAll(ctx, []Entry{e})
}

// RecordAll implements [BatchStore]: one pipelined round trip for all of
// es, with the counts of entries in the same bucket under the same
// dimensions added up first. An invalid entry fails the call before
// anything is written.
func (s *RedisStore) RecordAll(ctx context.Context, es []Entry) error {
	type bucket struct {
		key string
		exp time.Time
	}
	var (
		order []bucket
		sums  = make(map[string]map[string]int64)
		now   = time.Now()
	)
	for _, e := range es {
		c, err := e.counts()
		if err != nil {
			return err
		}
		d := e.clean()
		dims := d.Client + "|" + d.Provider + "|" + d.Model + "|" + d.Route + "|"
		for _, g := range Granularities {
			start := g.Start(e.Time)
			exp := s.ret.ExpiresAt(g, start)
			if !now.Before(exp) {
				continue // already forgotten
			}
			key := s.Key(g, start)
			fields, ok := sums[key]
			if !ok {
				fields = make(map[string]int64, 8)
				sums[key] = fields
				order = append(order, bucket{key, exp})
			}
			for _, f := range [...]struct {
				name string
				n    int64
			}{
				{fRequests, c.Requests}, {fCacheHits, c.CacheHits}, {fInput, c.InputTokens},
				{fOutput, c.OutputTokens}, {fCached, c.CachedInputTokens}, {fCost, int64(c.Cost)}, {fSaved, int64(c.Saved)},
			} {
				if f.n != 0 {
					fields[dims+f.name] += f.n
				}
			}
		}
	}
	if len(order) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	p := s.c.Pipeline()
	for _, b := range order {
		for field, n := range sums[b.key] {
			if n != 0 {
				p.HIncrBy(ctx, b.key, field, n)
			}
		}
		p.ExpireAt(ctx, b.key, b.exp)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("usage: redis record: %w", err)
	}
	return nil
}

var _ BatchStore = (*RedisStore)(nil)

// Load implements [Store].
func (s *RedisStore) Load(ctx context.Context, g Granularity, from, to time.Time) ([]Bucket, error) {
	if !g.valid() {
		return nil, ErrInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var starts []time.Time
	p := s.c.Pipeline()
	var cmds []*redis.MapStringStringCmd
	for start := g.Start(from); start.Before(to); start = g.Add(start, 1) {
		starts = append(starts, start)
		cmds = append(cmds, p.HGetAll(ctx, s.Key(g, start)))
	}
	if len(cmds) == 0 {
		return nil, nil
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("usage: redis load: %w", err)
	}
	var out []Bucket
	for i, cmd := range cmds {
		fields, err := cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("usage: redis load %s: %w", s.Key(g, starts[i]), err)
		}
		if len(fields) == 0 {
			continue
		}
		counts, err := parseBucket(fields)
		if err != nil {
			return nil, fmt.Errorf("usage: redis load %s: %w", s.Key(g, starts[i]), err)
		}
		out = append(out, Bucket{Start: starts[i], Counts: counts})
	}
	return out, nil
}

// parseBucket reads a bucket's hash fields into counts.
func parseBucket(fields map[string]string) (map[Dims]Counts, error) {
	counts := map[Dims]Counts{}
	for f, v := range fields {
		parts := strings.Split(f, "|")
		if len(parts) != 5 {
			return nil, fmt.Errorf("field %q is not client|provider|model|route|counter", f)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f, err)
		}
		d := Dims{Client: parts[0], Provider: parts[1], Model: parts[2], Route: parts[3]}
		c := counts[d]
		switch parts[4] {
		case fRequests:
			c.Requests += n
		case fCacheHits:
			c.CacheHits += n
		case fInput:
			c.InputTokens += n
		case fOutput:
			c.OutputTokens += n
		case fCached:
			c.CachedInputTokens += n
		case fCost:
			c.Cost += Nanos(n)
		case fSaved:
			c.Saved += Nanos(n)
		default:
			continue // a counter of a newer version
		}
		counts[d] = c
	}
	return counts, nil
}

var _ Store = (*RedisStore)(nil)
