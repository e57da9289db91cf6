package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// Store keeps answers by [Key]. Implementations are safe for concurrent
// use.
type Store interface {
	// Get returns the entry stored under k and its state now. A missing
	// entry, or one past its stale limit, is [Miss] with a nil error. A
	// store that cannot answer (Redis unreachable, a corrupt value)
	// returns [Miss] and the error, which the caller logs and otherwise
	// treats as a miss.
	Get(ctx context.Context, k Key) (Entry, State, error)
	// Set stores e under k, replacing any entry there: [Fresh] for ttl,
	// then [Stale] for maxStale, then gone. It stamps e's CreatedAt,
	// ExpiresAt and StaleUntil. ttl must be positive and maxStale not
	// negative ([ErrInvalidTTL]); an entry whose [Entry.Size] exceeds the
	// store's maximum is not stored ([*TooLargeError]).
	Set(ctx context.Context, k Key, e Entry, ttl, maxStale time.Duration) error
	// Delete removes the entry under k, if there is one.
	Delete(ctx context.Context, k Key) error
}

// DefaultMaxEntryBytes is the default largest [Entry.Size] a store keeps:
// far above the longest answer a model writes (32k tokens are about
// 128 KiB of text).
const DefaultMaxEntryBytes = 1 << 20

// ErrTooLarge matches every [*TooLargeError] with [errors.Is].
var ErrTooLarge = errors.New("cache: entry too large")

// ErrInvalidTTL is returned by [Store.Set] for a ttl that is not positive
// or a maxStale that is negative.
var ErrInvalidTTL = errors.New("cache: invalid ttl")

// TooLargeError is returned by [Store.Set] for an entry larger than the
// store's maximum entry size. The entry is not stored.
type TooLargeError struct {
	// Size is the entry's [Entry.Size]; Max is the store's limit.
	Size, Max int
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("cache: entry of %d bytes exceeds the maximum of %d", e.Size, e.Max)
}

// Is reports whether target is [ErrTooLarge].
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Op names a store operation in [Observer.Error].
type Op string

// The store operations.
const (
	OpGet    Op = "get"
	OpSet    Op = "set"
	OpDelete Op = "delete"
)

// Observer is told what a store does, for metrics. Every Get reports
// exactly one of Hit, StaleHit and Miss (a failed Get is a Miss, after
// Error), so they add up to the lookups. Methods are called on the
// caller's goroutine, sometimes while the store holds a lock: they must be
// quick and must not call the store.
type Observer interface {
	// Hit is a Get that found a fresh entry.
	Hit()
	// StaleHit is a Get that found a stale entry.
	StaleHit()
	// Miss is a Get that found nothing usable.
	Miss()
	// Set is an entry of size bytes stored.
	Set(size int)
	// Evict is an entry removed before its stale limit to keep the store
	// within its size bound (memory store only: Redis evicts on its own).
	Evict()
	// Error is an operation that failed, with the error it returned:
	// unreachable Redis, a timeout, a corrupt value, an entry too large
	// ([ErrTooLarge]) or an invalid ttl.
	Error(op Op, err error)
}

// nopObserver stands in for a nil [Observer].
type nopObserver struct{}

func (nopObserver) Hit()            {}
func (nopObserver) StaleHit()       {}
func (nopObserver) Miss()           {}
func (nopObserver) Set(int)         {}
func (nopObserver) Evict()          {}
func (nopObserver) Error(Op, error) {}

// observer returns o, or one that does nothing when o is nil.
func observer(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	return o
}

// checkSet validates the arguments of [Store.Set].
func checkSet(e *Entry, ttl, maxStale time.Duration, maxSize int) error {
	if ttl <= 0 || maxStale < 0 {
		return fmt.Errorf("%w: ttl %v, max stale %v", ErrInvalidTTL, ttl, maxStale)
	}
	if e.Parts != nil && !Storable(e.Response()) {
		return ErrNotStorable
	}
	if n := e.Size(); n > maxSize {
		return &TooLargeError{Size: n, Max: maxSize}
	}
	// The store keeps its own copy of the parts.
	if e.Parts != nil {
		parts := cloneParts(*e.Parts)
		e.Parts = &parts
	}
	return nil
}

// ErrNotStorable is returned by [Store.Set] for an entry with a part the
// cache cannot hold exactly (see [Storable]).
var ErrNotStorable = errors.New("cache: the answer has a part that cannot be stored exactly")

// cloneParts copies parts and what their tool calls and thinking point
// to; nil for nil.
func cloneParts(parts []providers.Part) []providers.Part {
	if parts == nil {
		return nil
	}
	out := make([]providers.Part, len(parts))
	for i, p := range parts {
		if p.ToolCall != nil {
			c := *p.ToolCall
			p.ToolCall = &c
		}
		if p.Thinking != nil {
			t := *p.Thinking
			p.Thinking = &t
		}
		out[i] = p
	}
	return out
}

// report tells o the outcome of a Get and returns its results.
func report(o Observer, e Entry, st State, err error) (Entry, State, error) {
	if err != nil {
		o.Error(OpGet, err)
	}
	switch st {
	case Fresh:
		o.Hit()
	case Stale:
		o.StaleHit()
	default:
		o.Miss()
		e = Entry{}
	}
	return e, st, err
}

// StaleFunc returns a function that looks k up in s for the failover
// chain's stale-if-error step: it answers with a fresh or a stale entry,
// and with false on a miss or an error. Its type is that of
// resilience.StaleFunc.
func StaleFunc(s Store, k Key) func(ctx context.Context) (*providers.Response, bool) {
	return func(ctx context.Context) (*providers.Response, bool) {
		e, st, err := s.Get(ctx, k)
		if err != nil || st == Miss {
			return nil, false
		}
		return e.Response(), true
	}
}
