package quota

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key a [RedisStore] writes.
const DefaultRedisPrefix = "llmgw:quota:"

// DefaultRedisClusterPrefix starts every key a [RedisStore] on a Redis
// Cluster writes: its hash tag puts every quota key in one slot, so that
// one script may check and consume the counters of several limits (Redis
// Cluster refuses a script whose keys span slots with CROSSSLOT).
const DefaultRedisClusterPrefix = "llmgw:quota:{quota}:"

// DefaultRedisTimeout bounds each Redis call: quota is on every
// request's path, and the [Limiter]'s failure policy is cheaper than a
// slow answer.
const DefaultRedisTimeout = 100 * time.Millisecond

// RedisOptions configure a [RedisStore].
type RedisOptions struct {
	// Prefix starts every key; empty means [DefaultRedisPrefix], or
	// [DefaultRedisClusterPrefix] on a Redis Cluster. On a Cluster one
	// script touches the keys of several limits, which must then share a
	// slot: a prefix given there needs a hash tag, such as
	// "llmgw:quota:{q}:" (all quota keys then live on one shard).
	Prefix string
	// Timeout bounds each call, within the caller's own deadline; 0 means
	// [DefaultRedisTimeout].
	Timeout time.Duration
}

// RedisStore is the [Store] that several replicas share, so that they
// enforce one limit together. Each [Store.Reserve] and [Store.Adjust] is
// one Lua script (EVALSHA, falling back to EVAL when Redis does not have
// it cached) over every counter of the request, so check-and-consume is
// atomic across all matching limits.
//
// Layout, under the prefix: a window is a hash {l: level, t: last update
// in µs} expiring when it has drained; a stream counter is a sorted set
// of reservation ids scored by the end of their lease, expiring with the
// last lease; a budget is a string holding the USD spent in the period
// (the key names the period), expiring after it. Expiries are relative
// to the callers' time, so they hold whatever Redis's clock says.
//
// A call that times out may still have run on the server: a reservation
// may then count although the caller was told of an error. A client built
// with ContextTimeoutEnabled gives up at the deadline by itself; with any
// other client each call runs on a goroutine of its own, abandoned at the
// deadline.
type RedisStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
	// direct: c gives up at its context's deadline by itself.
	direct bool
}

// NewRedisStore returns a store on c. The caller owns c and closes it.
func NewRedisStore(c redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
		if _, cluster := c.(*redis.ClusterClient); cluster {
			opts.Prefix = DefaultRedisClusterPrefix
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	return &RedisStore{c: c, prefix: opts.Prefix, timeout: opts.Timeout, direct: honoursDeadlines(c)}
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

// Key is the Redis key of a counter key.
func (s *RedisStore) Key(counterKey string) string { return s.prefix + counterKey }

// The script's arguments: now (µs), reservation id, mode, then per
// counter kind, max, n and expires (µs). Numbers are written with %.17g
// so that they survive the round trip through strings exactly; the reply
// carries numbers as strings for the same reason (Redis truncates Lua
// numbers to integers). A reservation replies {0, remaining per counter}
// when it consumed, {index, retry after (µs), remaining} when it did not;
// an adjustment replies with each budget's spend before it.
const luaQuota = `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local mode = ARGV[3]
local W = 60000000
local function f(x) return string.format('%.17g', x) end
local function level(key, max)
  local v = redis.call('HMGET', key, 'l', 't')
  if not v[1] then return 0 end
  local l = tonumber(v[1]) - (now - tonumber(v[2])) * max / W
  if l < 0 then l = 0 end
  return l
end
local function setlevel(key, l, max)
  redis.call('HSET', key, 'l', f(l), 't', f(now))
  redis.call('PEXPIRE', key, math.ceil(l / max * W / 1000) + 1000)
end
local n = #KEYS
if mode == 'reserve' then
  local levels = {}
  local left = {}
  for i = 1, n do
    local b = 3 + (i - 1) * 4
    local kind, max, amt = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
    if kind == 'w' then
      local l = level(KEYS[i], max)
      if l + amt > max + 1e-6 then
        local rem = math.floor(max - l + 1e-6)
        if rem < 0 then rem = 0 end
        return {i, f((l + amt - max) * W / max), f(rem)}
      end
      levels[i] = l + amt
    elseif kind == 's' then
      redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
      local c = redis.call('ZCARD', KEYS[i])
      if c + amt > max + 1e-6 then
        return {i, '0', f(max - c)}
      end
    else
      local spent = tonumber(redis.call('GET', KEYS[i]) or '0')
      if spent >= max then
        return {i, '0', f(max - spent)}
      end
      left[i] = max - spent
    end
  end
  for i = 1, n do
    local b = 3 + (i - 1) * 4
    local kind, max = ARGV[b + 1], tonumber(ARGV[b + 2])
    if kind == 'w' then
      setlevel(KEYS[i], levels[i], max)
      left[i] = max - levels[i]
    elseif kind == 's' then
      local exp = tonumber(ARGV[b + 4])
      redis.call('ZADD', KEYS[i], exp, id)
      local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
      redis.call('PEXPIRE', KEYS[i], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
      left[i] = max - redis.call('ZCARD', KEYS[i])
    end
  end
  local out = {0}
  for i = 1, n do out[i + 1] = f(left[i]) end
  return out
end
local out = {}
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local kind, max, amt = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  out[i] = '0'
  if kind == 'w' then
    local l = level(KEYS[i], max) + amt
    if l < 0 then l = 0 end
    setlevel(KEYS[i], l, max)
  elseif kind == 's' then
    if amt < 0 then redis.call('ZREM', KEYS[i], id) end
  else
    local spent = tonumber(redis.call('GET', KEYS[i]) or '0')
    out[i] = f(spent)
    redis.call('SET', KEYS[i], f(spent + amt))
    redis.call('PEXPIRE', KEYS[i], math.max(1, math.ceil((tonumber(ARGV[b + 4]) - now) / 1000)))
  end
end
return out
`

var quotaScript = redis.NewScript(luaQuota)

// kindCode is a kind as the script knows it.
func kindCode(k Kind) string {
	switch {
	case k.isRate():
		return "w"
	case k == KindStreams:
		return "s"
	}
	return "b"
}

// args builds the script's keys and arguments.
func (s *RedisStore) args(now time.Time, id, mode string, cs []Counter) ([]string, []any) {
	keys := make([]string, len(cs))
	argv := make([]any, 0, 3+4*len(cs))
	argv = append(argv, micros(now), id, mode)
	for i, c := range cs {
		keys[i] = s.prefix + c.Key
		exp := micros(c.Expires)
		if c.Expires.IsZero() {
			exp = micros(now)
		}
		argv = append(argv, kindCode(c.Kind),
			strconv.FormatFloat(c.Max, 'g', 17, 64),
			strconv.FormatFloat(c.N, 'g', 17, 64),
			exp)
	}
	return keys, argv
}

// Reserve implements [Store].
func (s *RedisStore) Reserve(ctx context.Context, now time.Time, id string, cs []Counter) ([]float64, *Denial, error) {
	keys, argv := s.args(now, id, "reserve", cs)
	res, err := s.run(ctx, keys, argv)
	if err != nil {
		return nil, nil, fmt.Errorf("quota: redis reserve: %w", err)
	}
	if len(res) == 0 {
		return nil, nil, errors.New("quota: redis reserve: empty reply")
	}
	i, ok := res[0].(int64)
	if !ok {
		return nil, nil, fmt.Errorf("quota: redis reserve: unexpected reply %v", res)
	}
	if i == 0 {
		if len(res) != 1+len(cs) {
			return nil, nil, fmt.Errorf("quota: redis reserve: %d values for %d counters", len(res)-1, len(cs))
		}
		remaining := make([]float64, len(cs))
		for j, v := range res[1:] {
			if remaining[j], err = parseFloat(v); err != nil {
				return nil, nil, fmt.Errorf("quota: redis reserve: %w", err)
			}
		}
		return remaining, nil, nil
	}
	if len(res) != 3 || i < 1 || int(i) > len(cs) {
		return nil, nil, fmt.Errorf("quota: redis reserve: unexpected reply %v", res)
	}
	retry, err1 := parseFloat(res[1])
	rem, err2 := parseFloat(res[2])
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, fmt.Errorf("quota: redis reserve: %w", err)
	}
	return nil, &Denial{
		Index:      int(i) - 1,
		RetryAfter: time.Duration(retry+0.999) * time.Microsecond, // round up
		Remaining:  rem,
	}, nil
}

// Adjust implements [Store].
func (s *RedisStore) Adjust(ctx context.Context, now time.Time, id string, cs []Counter) ([]float64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	keys, argv := s.args(now, id, "adjust", cs)
	res, err := s.run(ctx, keys, argv)
	if err != nil {
		return nil, fmt.Errorf("quota: redis adjust: %w", err)
	}
	if len(res) != len(cs) {
		return nil, fmt.Errorf("quota: redis adjust: %d values for %d counters", len(res), len(cs))
	}
	before := make([]float64, len(cs))
	for i, v := range res {
		if before[i], err = parseFloat(v); err != nil {
			return nil, fmt.Errorf("quota: redis adjust: %w", err)
		}
	}
	return before, nil
}

// run runs the script within the store's timeout.
func (s *RedisStore) run(ctx context.Context, keys []string, argv []any) ([]any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.direct {
		res, err := quotaScript.Run(ctx, s.c, keys, argv...).Slice()
		return res, deadlineErr(ctx, err)
	}
	done := make(chan struct{})
	var res []any
	var err error
	// go-redis bounds a call by the context's deadline only when built
	// with ContextTimeoutEnabled; run it aside so the timeout holds for
	// any client. The abandoned call writes nothing the caller reads.
	go func() {
		defer close(done)
		res, err = quotaScript.Run(ctx, s.c, keys, argv...).Slice()
	}()
	select {
	case <-done:
		return res, deadlineErr(ctx, err)
	case <-ctx.Done():
		return nil, context.Cause(ctx)
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

// parseFloat reads a number the script returned as a string.
func parseFloat(v any) (float64, error) {
	str, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("unexpected value %v", v)
	}
	return strconv.ParseFloat(str, 64)
}

var _ Store = (*RedisStore)(nil)
