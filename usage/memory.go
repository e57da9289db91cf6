package usage

import (
	"context"
	"maps"
	"sync"
	"time"
)

// MemoryOptions configure a [MemoryStore].
type MemoryOptions struct {
	// Retention is how many buckets are kept; zero fields take
	// [DefaultRetention].
	Retention Retention
	// Now is the clock that decides which buckets are forgotten; nil is
	// time.Now.
	Now func() time.Time
}

// MemoryStore is the [Store] of one gateway process: the embedded
// default. Buckets past their retention are dropped as time goes by.
type MemoryStore struct {
	ret Retention
	now func() time.Time

	mu        sync.Mutex
	buckets   [len(Granularities)]map[time.Time]map[Dims]*Counts
	nextPrune time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &MemoryStore{ret: opts.Retention.withDefaults(), now: opts.Now}
	for g := range s.buckets {
		s.buckets[g] = map[time.Time]map[Dims]*Counts{}
	}
	return s
}

// Record implements [Store].
func (s *MemoryStore) Record(_ context.Context, e Entry) error {
	c, err := e.counts()
	if err != nil {
		return err
	}
	d := e.clean()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now)
	for _, g := range Granularities {
		start := g.Start(e.Time)
		if !now.Before(s.ret.ExpiresAt(g, start)) {
			continue // already forgotten
		}
		b := s.buckets[g][start]
		if b == nil {
			b = map[Dims]*Counts{}
			s.buckets[g][start] = b
		}
		sum := b[d]
		if sum == nil {
			sum = &Counts{}
			b[d] = sum
		}
		sum.Add(c)
	}
	return nil
}

// Load implements [Store].
func (s *MemoryStore) Load(_ context.Context, g Granularity, from, to time.Time) ([]Bucket, error) {
	if !g.valid() {
		return nil, ErrInvalid
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Bucket
	for start := g.Start(from); start.Before(to); start = g.Add(start, 1) {
		b := s.buckets[g][start]
		if len(b) == 0 || !now.Before(s.ret.ExpiresAt(g, start)) {
			continue
		}
		counts := make(map[Dims]Counts, len(b))
		for d, c := range b {
			counts[d] = *c
		}
		out = append(out, Bucket{Start: start, Counts: counts})
	}
	return out, nil
}

// prune drops forgotten buckets, at most once a minute.
func (s *MemoryStore) prune(now time.Time) {
	if now.Before(s.nextPrune) {
		return
	}
	s.nextPrune = now.Add(time.Minute)
	for _, g := range Granularities {
		maps.DeleteFunc(s.buckets[g], func(start time.Time, _ map[Dims]*Counts) bool {
			return !now.Before(s.ret.ExpiresAt(g, start))
		})
	}
}

var _ Store = (*MemoryStore)(nil)
