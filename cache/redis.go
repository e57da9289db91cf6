package cache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key a [RedisStore] writes.
const DefaultRedisPrefix = "llmgw:cache:"

// DefaultRedisTimeout bounds each Redis operation: a lookup that takes
// longer is a miss, cheaper than making the request wait.
const DefaultRedisTimeout = 100 * time.Millisecond

// RedisOptions configure a [RedisStore].
type RedisOptions struct {
	// Prefix starts every key; empty means [DefaultRedisPrefix]. The key
	// of an entry is the prefix and the [Key] in hex.
	Prefix string
	// Timeout bounds each operation, within the caller's own deadline;
	// 0 means [DefaultRedisTimeout].
	Timeout time.Duration
	// MaxEntryBytes is the largest [Entry.Size] stored; 0 means
	// [DefaultMaxEntryBytes].
	MaxEntryBytes int
	// Observer, when set, is told of hits, misses, sets and errors.
	Observer Observer
	// PauseAfterError is how long the store stops calling Redis after a
	// failed operation, answering misses at once instead of making every
	// request wait out the timeout while Redis is down; 0 means
	// [DefaultRedisPause], negative never pauses.
	PauseAfterError time.Duration
}

// DefaultRedisPause is how long a [RedisStore] leaves Redis alone after a
// failure.
const DefaultRedisPause = time.Second

// ErrPaused is returned, without calling Redis, while a [RedisStore]
// pauses after a failure.
var ErrPaused = errors.New("cache: redis paused after a failure")

// RedisStore is the [Store] shared by every replica on one Redis
// (standalone, Sentinel or Cluster).
//
// An entry is one string key, prefix + hex(key), holding the entry's
// binary encoding with its fresh and stale limits, and expiring (PX) at
// its stale limit. Every operation is one command, bounded by the
// store's timeout: when Redis is slow or unreachable, Get returns [Miss]
// and the error by the end of the timeout, whatever the client's own
// timeouts and retries are (a client built with ContextTimeoutEnabled
// honours the deadline by itself; the operations of any other client run
// on a goroutine that is abandoned at the deadline).
type RedisStore struct {
	c        redis.UniversalClient
	prefix   string
	timeout  time.Duration
	maxEntry int
	obs      Observer
	// direct: c gives up at its context's deadline by itself.
	direct bool
	pause  time.Duration
	// pausedUntil is when calls to Redis resume, in Unix nanoseconds.
	pausedUntil atomic.Int64
}

// NewRedisStore returns a store on c. The caller owns c and closes it.
func NewRedisStore(c redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	if opts.MaxEntryBytes <= 0 {
		opts.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if opts.PauseAfterError == 0 {
		opts.PauseAfterError = DefaultRedisPause
	}
	return &RedisStore{
		pause:    opts.PauseAfterError,
		c:        c,
		prefix:   opts.Prefix,
		timeout:  opts.Timeout,
		maxEntry: opts.MaxEntryBytes,
		obs:      observer(opts.Observer),
		direct:   honoursDeadlines(c),
	}
}

// honoursDeadlines reports whether c bounds its dials, reads, writes and
// retries by the context's deadline.
func honoursDeadlines(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// Key is the Redis key of k.
func (s *RedisStore) Key(k Key) string {
	b := make([]byte, len(s.prefix)+2*len(k))
	copy(b, s.prefix)
	hex.Encode(b[len(s.prefix):], k[:])
	return string(b)
}

// Get implements [Store].
func (s *RedisStore) Get(ctx context.Context, k Key) (Entry, State, error) {
	key := s.Key(k)
	var b []byte
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		b, err = s.c.Get(ctx, key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return report(s.obs, Entry{}, Miss, nil)
	}
	if err != nil {
		return report(s.obs, Entry{}, Miss, fmt.Errorf("cache: redis get %s: %w", key, err))
	}
	var e Entry
	if err := e.UnmarshalBinary(b); err != nil {
		return report(s.obs, Entry{}, Miss, fmt.Errorf("cache: redis get %s: %w", key, err))
	}
	return report(s.obs, e, e.State(time.Now()), nil)
}

// Set implements [Store].
func (s *RedisStore) Set(ctx context.Context, k Key, e Entry, ttl, maxStale time.Duration) error {
	if err := checkSet(&e, ttl, maxStale, s.maxEntry); err != nil {
		s.obs.Error(OpSet, err)
		return err
	}
	e.stamp(time.Now(), ttl, maxStale)
	b, err := e.MarshalBinary()
	if err != nil {
		s.obs.Error(OpSet, err)
		return err
	}
	key := s.Key(k)
	err = s.do(ctx, func(ctx context.Context) error {
		return s.c.Set(ctx, key, b, ttl+maxStale).Err()
	})
	if err != nil {
		err = fmt.Errorf("cache: redis set %s: %w", key, err)
		s.obs.Error(OpSet, err)
		return err
	}
	s.obs.Set(len(b))
	return nil
}

// Delete implements [Store].
func (s *RedisStore) Delete(ctx context.Context, k Key) error {
	key := s.Key(k)
	err := s.do(ctx, func(ctx context.Context) error {
		return s.c.Del(ctx, key).Err()
	})
	if err != nil {
		err = fmt.Errorf("cache: redis delete %s: %w", key, err)
		s.obs.Error(OpDelete, err)
	}
	return err
}

// do runs op within the store's timeout. With a client that does not
// honour deadlines, op runs on a goroutine of its own and is abandoned
// (it writes nothing the caller reads) if the deadline comes first.
func (s *RedisStore) do(ctx context.Context, op func(context.Context) error) error {
	if time.Now().UnixNano() < s.pausedUntil.Load() {
		return ErrPaused
	}
	err := s.call(ctx, op)
	if err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil && s.pause > 0 {
		// Redis failed, not the caller: leave it alone for a while.
		s.pausedUntil.Store(time.Now().Add(s.pause).UnixNano())
	}
	return err
}

func (s *RedisStore) call(ctx context.Context, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.direct {
		return deadlineErr(ctx, op(ctx))
	}
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	select {
	case err := <-done:
		return deadlineErr(ctx, err)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// deadlineErr makes an error that ctx's end caused (a client that sets
// its socket deadlines from ctx reports an i/o timeout, sometimes before
// ctx's own timer has fired) match ctx's error too.
func deadlineErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded
	}
	if cerr == nil || errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%w: %w", cerr, err)
}

var _ Store = (*RedisStore)(nil)
