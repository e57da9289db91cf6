package cooldown

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key a [RedisStore] writes.
const DefaultRedisPrefix = "llmgw:cooldown:"

// DefaultRedisTimeout bounds each Redis call: a cooldown is looked up on
// every request's path, and a slow Redis must not hold requests.
const DefaultRedisTimeout = 100 * time.Millisecond

// RedisOptions configure a [RedisStore].
type RedisOptions struct {
	// Prefix starts every key; empty means [DefaultRedisPrefix].
	Prefix string
	// Timeout bounds each call, within the caller's own deadline; 0 means
	// [DefaultRedisTimeout].
	Timeout time.Duration
}

// RedisStore is the [Store] that several replicas share. A cooldown is
// one key per provider whose time-to-live is the cooldown; Redis expires
// it, so the replicas' clocks do not matter. Each key is touched alone,
// so the store works on a Redis Cluster as on a single node.
type RedisStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// NewRedisStore returns a store on c. The caller owns c and closes it.
func NewRedisStore(c redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	return &RedisStore{c: c, prefix: opts.Prefix, timeout: opts.Timeout}
}

// luaHold sets the key with a time-to-live of ARGV[1] ms unless it already
// lives longer.
var luaHold = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
local ms = tonumber(ARGV[1])
if ttl < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 0
`)

// Hold implements [Store].
func (s *RedisStore) Hold(ctx context.Context, provider string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return luaHold.Run(ctx, s.c, []string{s.prefix + provider}, int64(ms)).Err()
}

// Remaining implements [Store].
func (s *RedisStore) Remaining(ctx context.Context, provider string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ttl, err := s.c.PTTL(ctx, s.prefix+provider).Result()
	if err != nil {
		return 0, err
	}
	// A missing key is -2, a key without expiry -1: neither is a cooldown.
	return max(ttl, 0), nil
}

var _ Store = (*RedisStore)(nil)
