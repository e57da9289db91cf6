package experiment_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/experiment/storetest"
	"github.com/careerpath/llmgateway/internal/redistest"
)

// TestRedisClusterStore runs the store suite on a real 3-master Redis
// Cluster through go-redis's UniversalClient, as the gateway connects to
// one from several addresses.
func TestRedisClusterStore(t *testing.T) {
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: redistest.StartCluster(t, 3), DialTimeout: time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	var n atomic.Int64
	storetest.Run(t, func(_ *testing.T, opts storetest.Options) experiment.Store {
		prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
		return experiment.NewRedisStore(c, experiment.RedisOptions{Prefix: prefix, AttributionTTL: opts.AttributionTTL})
	})
}
