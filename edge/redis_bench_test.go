package edge_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/edge"
	"github.com/careerpath/llmgateway/experiment"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/quota"
	ledger "github.com/careerpath/llmgateway/usage"
)

// roundTrips counts what a client sends Redis: commands, and round trips
// (a command alone, or a pipeline of them).
type roundTrips struct{ trips, cmds atomic.Int64 }

func (*roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.trips.Add(1)
		r.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.trips.Add(1)
		r.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// BenchmarkRedisMiss is the load harness's redis-miss path in process: a
// gRPC Complete whose message is new each time (a cache miss, whose answer
// is stored), through the whole interceptor chain, on a gateway with its
// cache, quota, experiments, usage ledger and cooldowns in a real
// redis-server on this host (as -redis-addrs runs it) and the limits of
// bench/config. It reports the Redis round trips and commands per call,
// those written after the answer (the ledger's and the experiment
// recorder's batches) included. serial calls one at a time, so ns/op is a
// call's latency and holds its sequential round trips; parallel keeps 16
// calls in flight.
//
//	go test -run '^$' -bench RedisMiss -benchmem ./edge/
func BenchmarkRedisMiss(b *testing.B) {
	for _, tc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(tc.name, func(b *testing.B) {
			client, rt := startRedisGateway(b)
			var n atomic.Int64
			call := func() {
				req := &gatewayv1.CompleteRequest{
					Route: "openai_only",
					Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER,
						Content: "How do I become a data engineer? #" + strconv.FormatInt(n.Add(1), 10)}},
					Caller: &gatewayv1.Caller{Subject: "bench-" + strconv.FormatInt(n.Load()%16, 10)},
					Params: &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64), Temperature: proto.Float64(0)},
				}
				resp, err := client.Complete(context.Background(), req)
				if err != nil {
					b.Error(err)
					return
				}
				if resp.GetServedFrom() != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
					b.Errorf("served from %v, want a fresh answer (a miss)", resp.GetServedFrom())
				}
			}
			for range 50 { // connections dialled, scripts loaded
				call()
			}
			rt.trips.Store(0)
			rt.cmds.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			if tc.parallel {
				b.SetParallelism(8) // 16 on two cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						call()
					}
				})
			} else {
				for range b.N {
					call()
				}
			}
			b.StopTimer()
			time.Sleep(20 * time.Millisecond) // the last batches written after their answers
			b.ReportMetric(float64(rt.trips.Load())/float64(b.N), "roundtrips/op")
			b.ReportMetric(float64(rt.cmds.Load())/float64(b.N), "cmds/op")
		})
	}
}

// startRedisGateway starts a gateway, in front of the simulator, with
// every store in a redis-server of its own, and returns a gRPC client of
// it and the counter of the Redis client it shares.
func startRedisGateway(b *testing.B) (gatewayv1.LLMGatewayClient, *roundTrips) {
	b.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redistest.Start(b), ContextTimeoutEnabled: true,
		DialTimeout: time.Second, ReadTimeout: 250 * time.Millisecond, WriteTimeout: 250 * time.Millisecond})
	b.Cleanup(func() { _ = rc.Close() })
	counter := &roundTrips{}
	rc.AddHook(counter)
	g := startGatewayOpts(b, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes, config.RateLimitsFile: benchLimits,
	}, edge.Options{
		Runtime: core.RuntimeOptions{Cooldowns: cooldown.NewRedisStore(rc, cooldown.RedisOptions{})},
		Service: core.Options{
			Cache:       cache.NewRedisStore(rc, cache.RedisOptions{}),
			Quota:       quota.NewRedisStore(rc, quota.RedisOptions{}),
			Experiments: experiment.NewRedisStore(rc, experiment.RedisOptions{}),
			Usage:       ledger.NewRedisStore(rc, ledger.RedisOptions{}),
		},
	})
	b.Cleanup(providers.DefaultHTTPClient().CloseIdleConnections)
	return g.client, counter
}

// benchLimits are bench/config's: per user, per client and route, and
// global, generous enough that nothing is refused.
const benchLimits = `{"limits": [
  {"name": "per_user", "scope": ["user"], "requests_per_minute": 100000000, "tokens_per_minute": 1000000000000,
   "concurrent_streams": 1000000, "usd_per_day": 1000000000},
  {"name": "per_client_and_route", "scope": ["api_key", "route"], "requests_per_minute": 100000000,
   "usd_per_month": 1000000000},
  {"name": "gateway_tokens", "tokens_per_minute": 1000000000000}
]}`
