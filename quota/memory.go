package quota

import (
	"context"
	"math"
	"sync"
	"time"
)

// sweepEvery is how often (in the callers' time) a [MemoryStore] drops
// counters that no longer hold anything.
const sweepEvery = time.Minute

// MemoryStore is the [Store] of a single replica: every counter in one
// map under one lock. Idle counters are dropped as the store is used, so
// its size follows the active keys; it starts no goroutine.
type MemoryStore struct {
	mu        sync.Mutex
	m         map[string]*memCounter
	nextSweep time.Time
}

// memCounter is one counter; which fields it uses depends on its kind.
type memCounter struct {
	bucket                       // windows
	spent   float64              // budgets
	streams map[string]time.Time // stream leases by reservation id
	expires time.Time            // when the counter holds nothing any more
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: map[string]*memCounter{}}
}

// Len is the number of counters held, for tests and metrics.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Reserve implements [Store].
func (s *MemoryStore) Reserve(ctx context.Context, now time.Time, id string, cs []Counter) ([]float64, *Denial, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	us := micros(now)
	levels := make([]float64, len(cs)) // windows: the level once consumed
	remaining := make([]float64, len(cs))
	for i, c := range cs {
		mc := s.m[c.Key]
		switch {
		case c.Kind.isRate():
			var l float64
			if mc != nil {
				l = mc.at(us, c.Max)
			}
			if l+c.N > c.Max+epsilon {
				rate := c.Max / windowMicros
				return nil, &Denial{
					Index:      i,
					RetryAfter: time.Duration(math.Ceil((l+c.N-c.Max)/rate)) * time.Microsecond,
					Remaining:  math.Max(0, math.Floor(c.Max-l+epsilon)),
				}, nil
			}
			levels[i] = l + c.N
		case c.Kind == KindStreams:
			n := 0
			if mc != nil {
				n = mc.liveStreams(now)
			}
			if float64(n)+c.N > c.Max+epsilon {
				return nil, &Denial{Index: i, Remaining: math.Max(0, c.Max-float64(n))}, nil
			}
		default: // budget
			var spent float64
			if mc != nil {
				spent = mc.spent
			}
			if spent >= c.Max {
				return nil, &Denial{Index: i, Remaining: math.Max(0, c.Max-spent)}, nil
			}
			remaining[i] = c.Max - spent
		}
	}
	for i, c := range cs {
		switch {
		case c.Kind.isRate():
			mc := s.get(c.Key)
			mc.bucket = bucket{level: levels[i], last: us}
			mc.expires = now.Add(drainTime(levels[i], c.Max))
			remaining[i] = c.Max - levels[i]
		case c.Kind == KindStreams:
			mc := s.get(c.Key)
			if mc.streams == nil {
				mc.streams = map[string]time.Time{}
			}
			mc.streams[id] = c.Expires
			if c.Expires.After(mc.expires) {
				mc.expires = c.Expires
			}
			remaining[i] = c.Max - float64(len(mc.streams))
		}
	}
	return remaining, nil, nil
}

// Adjust implements [Store].
func (s *MemoryStore) Adjust(ctx context.Context, now time.Time, id string, cs []Counter) ([]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	us := micros(now)
	before := make([]float64, len(cs))
	for i, c := range cs {
		switch {
		case c.Kind.isRate():
			mc := s.get(c.Key)
			l := math.Max(0, mc.at(us, c.Max)+c.N)
			mc.bucket = bucket{level: l, last: us}
			mc.expires = now.Add(drainTime(l, c.Max))
		case c.Kind == KindStreams:
			if mc := s.m[c.Key]; mc != nil && c.N < 0 {
				delete(mc.streams, id)
			}
		default:
			mc := s.get(c.Key)
			before[i] = mc.spent
			mc.spent += c.N
			if c.Expires.After(mc.expires) {
				mc.expires = c.Expires
			}
		}
	}
	return before, nil
}

// get returns the counter under key, created empty if missing.
func (s *MemoryStore) get(key string) *memCounter {
	mc := s.m[key]
	if mc == nil {
		mc = &memCounter{}
		s.m[key] = mc
	}
	return mc
}

// liveStreams drops the expired leases and counts the others.
func (mc *memCounter) liveStreams(now time.Time) int {
	for id, exp := range mc.streams {
		if !exp.After(now) {
			delete(mc.streams, id)
		}
	}
	return len(mc.streams)
}

// sweep drops the counters that hold nothing any more, once per
// [sweepEvery]. The caller holds s.mu.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for k, mc := range s.m {
		if !mc.expires.After(now) && mc.liveStreams(now) == 0 {
			delete(s.m, k)
		}
	}
}

// drainTime is how long a window holding level units of maxv per
// [Window] takes to empty.
func drainTime(level, maxv float64) time.Duration {
	return time.Duration(math.Ceil(level / maxv * float64(Window)))
}

var _ Store = (*MemoryStore)(nil)
