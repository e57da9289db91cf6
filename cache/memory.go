package cache

import (
	"context"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
)

// DefaultMemoryBytes is the default size bound of a [MemoryStore].
const DefaultMemoryBytes = 64 << 20

// entryOverhead is what an entry costs a [MemoryStore] beyond its
// encoded size: the key, the entry's fields and the cache's node.
const entryOverhead = 256

// MemoryOptions configure a [MemoryStore].
type MemoryOptions struct {
	// MaxBytes bounds the total size of the entries (each counted as its
	// [Entry.Size] plus a fixed overhead of a few hundred bytes); 0 means
	// [DefaultMemoryBytes].
	MaxBytes int64
	// MaxEntryBytes is the largest [Entry.Size] stored; 0 means
	// [DefaultMaxEntryBytes]. It is capped at MaxBytes.
	MaxEntryBytes int
	// Observer, when set, is told of hits, misses, sets, evictions and
	// errors.
	Observer Observer
}

// MemoryStore is the [Store] of one process, the embedded default.
//
// It is built on otter (github.com/maypok86/otter/v2): a concurrent cache
// whose reads take no lock (a lock-free hash table and striped,
// lossy buffers that record accesses for the eviction policy), bounded by
// the summed weight of its entries, here their size in bytes, with an
// expiry per entry, here its stale limit. When it is full it evicts by
// W-TinyLFU, which keeps an entry by how often and how recently it was
// read and so beats plain LRU on hit rate, and is not fooled by a scan of
// one-off requests. Eviction runs in the background of writes: the bound
// may be exceeded by a few entries for a moment.
type MemoryStore struct {
	c        *otter.Cache[Key, Entry]
	maxEntry int
	obs      Observer
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMemoryBytes
	}
	if opts.MaxEntryBytes <= 0 {
		opts.MaxEntryBytes = DefaultMaxEntryBytes
	}
	opts.MaxEntryBytes = int(min(int64(opts.MaxEntryBytes), opts.MaxBytes, math.MaxUint32-entryOverhead))
	m := &MemoryStore{maxEntry: opts.MaxEntryBytes, obs: observer(opts.Observer)}
	obs := m.obs
	m.c = otter.Must(&otter.Options[Key, Entry]{
		MaximumWeight: uint64(opts.MaxBytes),
		Weigher: func(_ Key, e Entry) uint32 {
			return uint32(e.Size() + entryOverhead) // at most MaxUint32, see maxEntry
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[Key, Entry]) time.Duration {
			return time.Until(e.Value.StaleUntil)
		}),
		OnAtomicDeletion: func(e otter.DeletionEvent[Key, Entry]) {
			if e.Cause == otter.CauseOverflow {
				obs.Evict()
			}
		},
	})
	return m
}

// Get implements [Store].
func (m *MemoryStore) Get(_ context.Context, k Key) (Entry, State, error) {
	e, ok := m.c.GetIfPresent(k)
	if !ok {
		return report(m.obs, Entry{}, Miss, nil)
	}
	return report(m.obs, e, e.State(time.Now()), nil)
}

// Set implements [Store].
func (m *MemoryStore) Set(_ context.Context, k Key, e Entry, ttl, maxStale time.Duration) error {
	if err := checkSet(&e, ttl, maxStale, m.maxEntry); err != nil {
		m.obs.Error(OpSet, err)
		return err
	}
	e.stamp(time.Now(), ttl, maxStale)
	m.c.Set(k, e)
	m.obs.Set(e.Size())
	return nil
}

// Delete implements [Store].
func (m *MemoryStore) Delete(_ context.Context, k Key) error {
	m.c.Invalidate(k)
	return nil
}

// Len is the number of entries, including expired ones not yet removed.
func (m *MemoryStore) Len() int { return m.c.EstimatedSize() }

// Bytes is the weighted size of the entries, what MaxBytes bounds.
func (m *MemoryStore) Bytes() int64 { return int64(m.c.WeightedSize()) }

// Close stops the goroutine that removes expired entries. It is optional:
// the goroutine also ends once the store is unreachable. The store stays
// usable; expired entries are then removed as they are found or pushed out.
func (m *MemoryStore) Close() error {
	m.c.StopAllGoroutines()
	return nil
}

var _ Store = (*MemoryStore)(nil)
