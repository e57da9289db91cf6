package cache_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
	"github.com/careerpath/llmgateway/internal/redistest"
)

// TestRedisClusterStore runs the store suite on a real 3-master Redis
// Cluster through go-redis's UniversalClient, as the gateway connects to
// one from several addresses.
func TestRedisClusterStore(t *testing.T) {
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: redistest.StartCluster(t, 3), ContextTimeoutEnabled: true, DialTimeout: time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	var n atomic.Int64
	cachetest.Run(t, func(*testing.T) cache.Store {
		prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
		return cache.NewRedisStore(c, cache.RedisOptions{Prefix: prefix, MaxEntryBytes: cachetest.MaxEntryBytes, Timeout: time.Second})
	})
}
