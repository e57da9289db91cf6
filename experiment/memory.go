package experiment

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxResponses is how many response attributions a [MemoryStore]
// keeps by default (about 70 MB at the limit); past it the oldest are
// forgotten first.
const DefaultMaxResponses = 1 << 19

// MemoryOptions configure a [MemoryStore].
type MemoryOptions struct {
	// AttributionTTL is how long feedback for a response is accepted;
	// 0 means [DefaultAttributionTTL].
	AttributionTTL time.Duration
	// MaxResponses bounds the remembered responses; 0 means
	// [DefaultMaxResponses].
	MaxResponses int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// attrShards is the number of lock stripes of the attribution table.
const attrShards = 64

// MemoryStore is the in-process [Store]: the default for a single replica.
// Counters are atomics reached through read-locked maps, and the response
// attributions are striped over 64 locks, so Record does not contend on one
// lock. Attributions are forgotten after their TTL or, past MaxResponses,
// oldest first; expired ones are dropped as new ones arrive, without a
// background goroutine.
type MemoryStore struct {
	ttl      time.Duration
	perShard int
	now      func() time.Time

	mu          sync.RWMutex
	experiments map[string]*memExperiment

	shards [attrShards]attrShard
}

type memExperiment struct {
	name  string
	route atomic.Pointer[string]

	mu       sync.RWMutex
	variants map[string]*memVariant
}

// modelKey is a provider and model, a map key that needs no allocation.
type modelKey struct{ provider, model string }

type memVariant struct {
	exp  *memExperiment
	name string

	requests, errors, cacheHits atomic.Int64
	inputTokens, outputTokens   atomic.Int64
	cost                        atomicFloat
	latency                     [NumBuckets]atomic.Int64
	successes, failures, scores atomic.Int64
	scoreSum                    atomicFloat

	mu       sync.RWMutex
	byClass  map[string]*atomic.Int64
	byModels map[modelKey]*atomic.Int64
}

// atomicFloat is a float64 updated by compare-and-swap.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) add(v float64) {
	if v == 0 {
		return
	}
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (f *atomicFloat) load() float64 { return math.Float64frombits(f.bits.Load()) }

type attrShard struct {
	mu sync.Mutex
	m  map[string]memAttr
	// queue holds the ids in insertion order, hence in expiry order;
	// entries before head are consumed.
	queue []queued
	head  int
}

type memAttr struct {
	v       *memVariant
	expires int64 // unix nanoseconds; also tells a re-recorded id apart
	counted bool
	client  string // who received the response
	outcome Outcome
}

type queued struct {
	id      string
	expires int64
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	if opts.AttributionTTL <= 0 {
		opts.AttributionTTL = DefaultAttributionTTL
	}
	if opts.MaxResponses <= 0 {
		opts.MaxResponses = DefaultMaxResponses
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &MemoryStore{
		ttl:         opts.AttributionTTL,
		perShard:    max(1, opts.MaxResponses/attrShards),
		now:         opts.Now,
		experiments: map[string]*memExperiment{},
	}
	for i := range s.shards {
		s.shards[i].m = map[string]memAttr{}
	}
	return s
}

// Record implements [Store].
func (s *MemoryStore) Record(_ context.Context, o Observation) error {
	if err := o.validate(); err != nil {
		return err
	}
	v := s.variant(o.Experiment, o.Route, o.Variant)
	if o.CacheHit {
		v.cacheHits.Add(1)
	} else {
		v.requests.Add(1)
		if o.ErrorClass != "" {
			v.errors.Add(1)
			v.classCounter(o.ErrorClass).Add(1)
		} else {
			v.latency[bucketOf(o.Latency)].Add(1)
		}
		if o.Provider != "" || o.Model != "" {
			v.modelCounter(modelKey{o.Provider, o.Model}).Add(1)
		}
		if o.InputTokens != 0 {
			v.inputTokens.Add(o.InputTokens)
		}
		if o.OutputTokens != 0 {
			v.outputTokens.Add(o.OutputTokens)
		}
		v.cost.add(o.CostUSD)
	}
	if o.ResponseID != "" {
		s.remember(o.ResponseID, o.Client, v, o.counted())
	}
	return nil
}

// variant returns the counters of a variant, creating them on first use.
func (s *MemoryStore) variant(experiment, route, variant string) *memVariant {
	s.mu.RLock()
	e := s.experiments[experiment]
	s.mu.RUnlock()
	if e == nil {
		s.mu.Lock()
		if e = s.experiments[experiment]; e == nil {
			e = &memExperiment{name: strings.Clone(experiment), variants: map[string]*memVariant{}}
			s.experiments[e.name] = e
		}
		s.mu.Unlock()
	}
	if r := e.route.Load(); r == nil || *r != route {
		r := strings.Clone(route)
		e.route.Store(&r) // the latest route wins, as in Redis
	}
	e.mu.RLock()
	v := e.variants[variant]
	e.mu.RUnlock()
	if v == nil {
		e.mu.Lock()
		if v = e.variants[variant]; v == nil {
			v = &memVariant{
				exp: e, name: strings.Clone(variant),
				byClass: map[string]*atomic.Int64{}, byModels: map[modelKey]*atomic.Int64{},
			}
			e.variants[v.name] = v
		}
		e.mu.Unlock()
	}
	return v
}

// counterIn returns the counter of key in m, creating it on first use
// under mu; clone copies a new key so that the map does not pin the
// caller's memory.
func counterIn[K comparable](mu *sync.RWMutex, m map[K]*atomic.Int64, key K, clone func(K) K) *atomic.Int64 {
	mu.RLock()
	c := m[key]
	mu.RUnlock()
	if c != nil {
		return c
	}
	mu.Lock()
	defer mu.Unlock()
	if c = m[key]; c == nil {
		c = new(atomic.Int64)
		m[clone(key)] = c
	}
	return c
}

func (v *memVariant) classCounter(class string) *atomic.Int64 {
	return counterIn(&v.mu, v.byClass, class, strings.Clone)
}

func (v *memVariant) modelCounter(k modelKey) *atomic.Int64 {
	return counterIn(&v.mu, v.byModels, k, func(k modelKey) modelKey {
		return modelKey{strings.Clone(k.provider), strings.Clone(k.model)}
	})
}

func shardOf(id string) uint32 {
	// FNV-1a.
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return h % attrShards
}

// remember stores the attribution of a response id, dropping expired and,
// past the shard's capacity, the oldest attributions.
func (s *MemoryStore) remember(id, client string, v *memVariant, counted bool) {
	now := s.now().UnixNano()
	exp := now + int64(s.ttl)
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for sh.head < len(sh.queue) {
		q := sh.queue[sh.head]
		// The queue is at least as long as the map (a re-recorded id is
		// queued again), so bounding it bounds both.
		if q.expires > now && len(sh.queue)-sh.head < s.perShard {
			break
		}
		if a, ok := sh.m[q.id]; ok && a.expires == q.expires {
			delete(sh.m, q.id)
		}
		sh.queue[sh.head] = queued{}
		sh.head++
	}
	if sh.head > 1024 && sh.head*2 > len(sh.queue) {
		n := copy(sh.queue, sh.queue[sh.head:])
		clear(sh.queue[n:])
		sh.queue = sh.queue[:n]
		sh.head = 0
	}
	sh.m[id] = memAttr{v: v, expires: exp, counted: counted, client: client}
	sh.queue = append(sh.queue, queued{id: id, expires: exp})
}

// Feedback implements [Store].
func (s *MemoryStore) Feedback(_ context.Context, responseID, client string, o Outcome) (Attribution, error) {
	if err := checkFeedback(responseID, o); err != nil {
		return Attribution{}, err
	}
	sh := &s.shards[shardOf(responseID)]
	sh.mu.Lock()
	a, ok := sh.m[responseID]
	if ok && a.expires <= s.now().UnixNano() {
		delete(sh.m, responseID)
		ok = false
	}
	if !ok || !mayGiveFeedback(client, a.client) {
		sh.mu.Unlock()
		return Attribution{}, unknownResponse(responseID)
	}
	prev := a.outcome
	a.outcome = o
	sh.m[responseID] = a
	sh.mu.Unlock()

	v := a.v
	if a.counted {
		// Each verdict's delta is taken against the verdict it replaced
		// under the shard lock, so concurrent verdicts add up right in any
		// order.
		d := deltaOf(prev, o)
		v.successes.Add(d.successes)
		v.failures.Add(d.failures)
		v.scores.Add(d.scores)
		v.scoreSum.add(d.scoreSum)
	}
	route := ""
	if r := v.exp.route.Load(); r != nil {
		route = *r
	}
	return Attribution{
		Route: route, Experiment: v.exp.name, Variant: v.name,
		Counted: a.counted, Replaced: prev.kind != outcomeNone,
	}, nil
}

// Snapshot implements [Store]. Counters are read one by one while requests
// may be recorded, so a snapshot may be a few requests out of step between
// counters; it never loses any.
func (s *MemoryStore) Snapshot(_ context.Context, experiment string) (*Snapshot, error) {
	snap := &Snapshot{Experiment: experiment}
	s.mu.RLock()
	e := s.experiments[experiment]
	s.mu.RUnlock()
	if e == nil {
		return snap, nil
	}
	if r := e.route.Load(); r != nil {
		snap.Route = *r
	}
	e.mu.RLock()
	vs := make([]*memVariant, 0, len(e.variants))
	for _, v := range e.variants {
		vs = append(vs, v)
	}
	e.mu.RUnlock()
	for _, v := range vs {
		c := Counters{
			Variant:       v.name,
			Requests:      v.requests.Load(),
			Errors:        v.errors.Load(),
			CacheHits:     v.cacheHits.Load(),
			InputTokens:   v.inputTokens.Load(),
			OutputTokens:  v.outputTokens.Load(),
			CostUSD:       v.cost.load(),
			Successes:     v.successes.Load(),
			Failures:      v.failures.Load(),
			Scores:        v.scores.Load(),
			ScoreSum:      v.scoreSum.load(),
			ErrorsByClass: map[string]int64{},
			Models:        map[string]int64{},
		}
		for i := range v.latency {
			c.Latency[i] = v.latency[i].Load()
		}
		v.mu.RLock()
		for k, n := range v.byClass {
			c.ErrorsByClass[k] = n.Load()
		}
		for k, n := range v.byModels {
			c.Models[k.provider+"/"+k.model] += n.Load()
		}
		v.mu.RUnlock()
		snap.Variants = append(snap.Variants, c)
	}
	slices.SortFunc(snap.Variants, func(a, b Counters) int { return strings.Compare(a.Variant, b.Variant) })
	return snap, nil
}

// Responses returns the number of queued response attributions, bounded
// by MaxResponses: an upper bound of those the store remembers, since
// expired ones are dropped lazily and an id recorded again is queued again.
func (s *MemoryStore) Responses() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.queue) - sh.head
		sh.mu.Unlock()
	}
	return n
}

var _ Store = (*MemoryStore)(nil)
