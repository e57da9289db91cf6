package quota_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/quota/quotatest"
)

// newClusterClient is a go-redis UniversalClient on a real 3-master
// Redis Cluster, built as the gateway builds it from several addresses.
func newClusterClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: redistest.StartCluster(t, 3), ContextTimeoutEnabled: true, DialTimeout: time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedisCluster runs the store on a real Redis Cluster.
func TestRedisCluster(t *testing.T) {
	c := newClusterClient(t)
	t.Run("Store", func(t *testing.T) { testClusterStore(t, c) })
	t.Run("DefaultPrefix", func(t *testing.T) { testClusterDefaultPrefix(t, c) })
}

// testClusterStore runs the store suite. Every subtest's prefix carries a
// hash tag, as a prefix on a Cluster must.
func testClusterStore(t *testing.T, c redis.UniversalClient) {
	var n atomic.Int64
	quotatest.Run(t, func(*testing.T) quota.Store {
		prefix := "t:{" + strconv.FormatInt(n.Add(1), 10) + "}:"
		return quota.NewRedisStore(c, quota.RedisOptions{Prefix: prefix, Timeout: time.Second})
	})
}

// testClusterDefaultPrefix: with no prefix given, a store on a
// Cluster keeps every key in one slot, so that one reservation over the
// counters of several limits runs (without the hash tag Redis refuses it
// with CROSSSLOT).
func testClusterDefaultPrefix(t *testing.T, c redis.UniversalClient) {
	s := quota.NewRedisStore(c, quota.RedisOptions{Timeout: time.Second})
	if k := s.Key("a"); k != quota.DefaultRedisClusterPrefix+"a" {
		t.Fatalf("key %q", k)
	}
	now := time.Now()
	cs := []quota.Counter{
		{Key: "per_user|user=u1|rpm", Kind: quota.KindRequests, Max: 10, N: 1},
		{Key: "per_key|api_key=k|tpm", Kind: quota.KindTokens, Max: 1000, N: 100},
		{Key: "streams|api_key=k", Kind: quota.KindStreams, Max: 2, N: 1, Expires: now.Add(time.Minute)},
		{Key: "daily|route=r|2026-01-01", Kind: quota.KindUSDPerDay, Max: 5, Expires: now.Add(24 * time.Hour)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, d, err := s.Reserve(ctx, now, "r1", cs); err != nil || d != nil {
		t.Fatalf("reserve: %v %+v", err, d)
	}

	// The same counters under a prefix without a hash tag span slots.
	plain := quota.NewRedisStore(c, quota.RedisOptions{Prefix: "plain:", Timeout: time.Second})
	if _, _, err := plain.Reserve(ctx, now, "r2", cs); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("untagged prefix on a Cluster: %v, want CROSSSLOT", err)
	}
}
