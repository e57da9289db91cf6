package experiment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key a [RedisStore] writes.
const DefaultRedisPrefix = "llmgw:"

// RedisOptions configure a [RedisStore].
type RedisOptions struct {
	// Prefix starts every key; empty means [DefaultRedisPrefix]. Gateways
	// that must not share experiments (staging and production on one
	// Redis) use different prefixes.
	Prefix string
	// AttributionTTL is how long feedback for a response is accepted;
	// 0 means [DefaultAttributionTTL].
	AttributionTTL time.Duration
}

// RedisStore is the [Store] for several replicas: every replica's store on
// the same Redis (standalone, Sentinel or Cluster) adds to the same
// counters, so any of them reports the whole experiment.
//
// Keys, with the default prefix, where {E} is the experiment id (the braces
// are literal: they keep one experiment's keys in one Cluster slot):
//
//	llmgw:exp:{E}:variants     set of variant names
//	llmgw:exp:{E}:meta         hash: route
//	llmgw:exp:{E}:v:<variant>  hash of counters: req, err, hit, in, out,
//	                           cost, succ, fail, scores, score_sum,
//	                           l:<bucket>, e:<error class>, m:<provider>/<model>
//	llmgw:exp:resp:<id>        string, expiring after the attribution TTL:
//	                           the response's variant and latest verdict
//
// Record is one pipelined round trip of HINCRBY/HINCRBYFLOAT and SET EX.
// Feedback reads the attribution, swaps the verdict atomically with
// SET XX KEEPTTL GET (so concurrent verdicts on one response each see the
// one they replace), then applies the difference to the counters; a crash
// between the two steps can lose one verdict's counts, never double them.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisStore returns a store on c. The caller owns c and closes it.
func NewRedisStore(c redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.AttributionTTL <= 0 {
		opts.AttributionTTL = DefaultAttributionTTL
	}
	return &RedisStore{c: c, prefix: opts.Prefix, ttl: opts.AttributionTTL}
}

// Counter fields of a variant's hash.
const (
	fRequests  = "req"
	fErrors    = "err"
	fCacheHits = "hit"
	fInput     = "in"
	fOutput    = "out"
	fCost      = "cost"
	fSuccesses = "succ"
	fFailures  = "fail"
	fScores    = "scores"
	fScoreSum  = "score_sum"
	pLatency   = "l:"
	pClass     = "e:"
	pModel     = "m:"
)

// latencyFields are the hash fields of the latency buckets.
var latencyFields = func() [NumBuckets]string {
	var f [NumBuckets]string
	for i := range f {
		f[i] = pLatency + strconv.Itoa(i)
	}
	return f
}()

func (s *RedisStore) expKey(experiment string) string {
	return s.prefix + "exp:{" + experiment + "}"
}

func (s *RedisStore) variantKey(experiment, variant string) string {
	return s.expKey(experiment) + ":v:" + variant
}

func (s *RedisStore) respKey(id string) string { return s.prefix + "exp:resp:" + id }

// Record implements [Store].
func (s *RedisStore) Record(ctx context.Context, o Observation) error {
	return s.RecordAll(ctx, []Observation{o})
}

// RecordAll implements [BatchStore]: one pipelined round trip for all of
// os. An invalid observation fails the call before anything is written.
func (s *RedisStore) RecordAll(ctx context.Context, os []Observation) error {
	for _, o := range os {
		if err := o.validate(); err != nil {
			return err
		}
	}
	p := s.c.Pipeline()
	for _, o := range os {
		s.queue(ctx, p, o)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("experiment: record in redis: %w", err)
	}
	return nil
}

// queue adds the commands recording o to p.
func (s *RedisStore) queue(ctx context.Context, p redis.Pipeliner, o Observation) {
	ek := s.expKey(o.Experiment)
	vk := ek + ":v:" + o.Variant
	p.SAdd(ctx, ek+":variants", o.Variant)
	p.HSet(ctx, ek+":meta", "route", o.Route)
	if o.CacheHit {
		p.HIncrBy(ctx, vk, fCacheHits, 1)
	} else {
		p.HIncrBy(ctx, vk, fRequests, 1)
		if o.ErrorClass != "" {
			p.HIncrBy(ctx, vk, fErrors, 1)
			p.HIncrBy(ctx, vk, pClass+o.ErrorClass, 1)
		} else {
			p.HIncrBy(ctx, vk, latencyFields[bucketOf(o.Latency)], 1)
		}
		if o.Provider != "" || o.Model != "" {
			p.HIncrBy(ctx, vk, pModel+o.Provider+"/"+o.Model, 1)
		}
		if o.InputTokens != 0 {
			p.HIncrBy(ctx, vk, fInput, o.InputTokens)
		}
		if o.OutputTokens != 0 {
			p.HIncrBy(ctx, vk, fOutput, o.OutputTokens)
		}
		if o.CostUSD != 0 {
			p.HIncrByFloat(ctx, vk, fCost, o.CostUSD)
		}
	}
	if o.ResponseID != "" {
		a := redisAttr{counted: o.counted(), route: o.Route, experiment: o.Experiment, variant: o.Variant, client: o.Client}
		p.Set(ctx, s.respKey(o.ResponseID), a.encode(), s.ttl)
	}
}

var _ BatchStore = (*RedisStore)(nil)

// redisAttr is a response's attribution as stored in Redis:
// "2|<counted 0/1>|<route>|<experiment>|<variant>|<client>|<outcome>"
// (names and clients never contain '|', see [CheckName]). Version 1, without
// the client, is still read: such a response takes anyone's feedback.
type redisAttr struct {
	counted                    bool
	route, experiment, variant string
	client                     string
	outcome                    Outcome
}

func (a redisAttr) encode() string {
	c := "0"
	if a.counted {
		c = "1"
	}
	return strings.Join([]string{"2", c, a.route, a.experiment, a.variant, a.client, a.outcome.encode()}, "|")
}

func decodeAttr(s string) (redisAttr, error) {
	f := strings.Split(s, "|")
	switch {
	case len(f) == 6 && f[0] == "1":
		f = append(f[:5], "", f[5]) // no client
	case len(f) == 7 && f[0] == "2":
	default:
		return redisAttr{}, fmt.Errorf("experiment: stored attribution %q is not valid", s)
	}
	o, err := decodeOutcome(f[6])
	if err != nil {
		return redisAttr{}, fmt.Errorf("experiment: %w", err)
	}
	return redisAttr{counted: f[1] == "1", route: f[2], experiment: f[3], variant: f[4], client: f[5], outcome: o}, nil
}

// Feedback implements [Store].
func (s *RedisStore) Feedback(ctx context.Context, responseID, client string, o Outcome) (Attribution, error) {
	if err := checkFeedback(responseID, o); err != nil {
		return Attribution{}, err
	}
	key := s.respKey(responseID)
	raw, err := s.c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return Attribution{}, unknownResponse(responseID)
	}
	if err != nil {
		return Attribution{}, fmt.Errorf("experiment: read attribution from redis: %w", err)
	}
	a, err := decodeAttr(raw)
	if err != nil {
		return Attribution{}, err
	}
	if !mayGiveFeedback(client, a.client) {
		return Attribution{}, unknownResponse(responseID)
	}
	next := a
	next.outcome = o
	// Swap in the new verdict, atomically learning the one it replaces.
	// XX: an attribution that expired meanwhile is not brought back.
	raw, err = s.c.SetArgs(ctx, key, next.encode(), redis.SetArgs{Mode: "XX", KeepTTL: true, Get: true}).Result()
	if errors.Is(err, redis.Nil) {
		return Attribution{}, unknownResponse(responseID)
	}
	if err != nil {
		return Attribution{}, fmt.Errorf("experiment: store feedback in redis: %w", err)
	}
	if a, err = decodeAttr(raw); err != nil {
		return Attribution{}, err
	}
	if a.counted {
		d := deltaOf(a.outcome, o)
		vk := s.variantKey(a.experiment, a.variant)
		p := s.c.Pipeline()
		for _, f := range [...]struct {
			field string
			n     int64
		}{{fSuccesses, d.successes}, {fFailures, d.failures}, {fScores, d.scores}} {
			if f.n != 0 {
				p.HIncrBy(ctx, vk, f.field, f.n)
			}
		}
		if d.scoreSum != 0 {
			p.HIncrByFloat(ctx, vk, fScoreSum, d.scoreSum)
		}
		if p.Len() > 0 {
			if _, err := p.Exec(ctx); err != nil {
				return Attribution{}, fmt.Errorf("experiment: count feedback in redis: %w", err)
			}
		}
	}
	return Attribution{
		Route: a.route, Experiment: a.experiment, Variant: a.variant,
		Counted: a.counted, Replaced: a.outcome.kind != outcomeNone,
	}, nil
}

// Snapshot implements [Store].
func (s *RedisStore) Snapshot(ctx context.Context, experiment string) (*Snapshot, error) {
	snap := &Snapshot{Experiment: experiment}
	if !validName(experiment) {
		return snap, nil // nothing can have been recorded under it
	}
	ek := s.expKey(experiment)
	names, err := s.c.SMembers(ctx, ek+":variants").Result()
	if err != nil {
		return nil, fmt.Errorf("experiment: read variants from redis: %w", err)
	}
	if len(names) == 0 {
		return snap, nil
	}
	slices.Sort(names)
	p := s.c.Pipeline()
	route := p.HGet(ctx, ek+":meta", "route")
	hashes := make([]*redis.MapStringStringCmd, len(names))
	for i, n := range names {
		hashes[i] = p.HGetAll(ctx, ek+":v:"+n)
	}
	_, _ = p.Exec(ctx) // every command's own error is checked below
	if err := route.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("experiment: read route from redis: %w", err)
	}
	snap.Route = route.Val()
	for i, n := range names {
		if err := hashes[i].Err(); err != nil {
			return nil, fmt.Errorf("experiment: read counters from redis: %w", err)
		}
		c, err := parseCounters(n, hashes[i].Val())
		if err != nil {
			return nil, err
		}
		snap.Variants = append(snap.Variants, c)
	}
	return snap, nil
}

// parseCounters reads a variant's hash.
func parseCounters(variant string, h map[string]string) (Counters, error) {
	c := Counters{Variant: variant, ErrorsByClass: map[string]int64{}, Models: map[string]int64{}}
	ints := map[string]*int64{
		fRequests: &c.Requests, fErrors: &c.Errors, fCacheHits: &c.CacheHits,
		fInput: &c.InputTokens, fOutput: &c.OutputTokens,
		fSuccesses: &c.Successes, fFailures: &c.Failures, fScores: &c.Scores,
	}
	for k, v := range h {
		if k == fCost || k == fScoreSum {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return c, fmt.Errorf("experiment: variant %s: field %s: %w", variant, k, err)
			}
			if k == fCost {
				c.CostUSD = f
			} else {
				c.ScoreSum = f
			}
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("experiment: variant %s: field %s: %w", variant, k, err)
		}
		switch {
		case ints[k] != nil:
			*ints[k] = n
		case strings.HasPrefix(k, pLatency):
			i, err := strconv.Atoi(k[len(pLatency):])
			if err == nil && i >= 0 && i < NumBuckets {
				c.Latency[i] = n
			}
		case strings.HasPrefix(k, pClass):
			c.ErrorsByClass[k[len(pClass):]] = n
		case strings.HasPrefix(k, pModel):
			c.Models[k[len(pModel):]] = n
		}
	}
	return c, nil
}

var _ Store = (*RedisStore)(nil)
