package edge_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/quota"
)

// redisClient is a go-redis client on addr that honours its contexts'
// deadlines, closed when the test ends (after the gateways using it, whose
// cleanups are registered later and so run first).
func redisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startReplicas starts n gateways sharing limits (rate_limits.json) and
// one Redis at addr for both quota and cache, each with Redis clients of
// its own, as separate processes would have.
func startReplicas(t *testing.T, addr string, n int, limits string, qopts quota.RedisOptions, failClosed bool) []*gateway {
	t.Helper()
	files := map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     testRoutes,
		config.RateLimitsFile:       limits,
	}
	gws := make([]*gateway, n)
	for i := range gws {
		gws[i] = startGatewayOpts(t, sim.Config{}, files, edge.Options{Service: core.Options{
			Quota:           quota.NewRedisStore(redisClient(t, addr), qopts),
			Cache:           cache.NewRedisStore(redisClient(t, addr), cache.RedisOptions{}),
			QuotaFailClosed: failClosed,
		}})
	}
	// Under load the providers' shared HTTP client dials connections it
	// ends up not using; the simulators' graceful stop would wait 5s for
	// each such never-used connection. Closing the idle ones first (this
	// cleanup runs before the gateways' and simulators') ends them at once.
	t.Cleanup(providers.DefaultHTTPClient().CloseIdleConnections)
	return gws
}

// sharedQuotaStore are the quota store options of the shared-limit tests.
// Quota is checked on a loaded 2-core machine under -race, where a Redis
// round trip may well exceed the default 100ms timeout; a fail-open
// limiter would then admit from its local counters (up to one more limit
// per replica) and the count would say nothing about the shared limit. So
// the timeout is generous and the gateways fail closed: a store failure is
// an Unavailable error, which the tests report, never a silent extra
// admission.
var sharedQuotaStore = quota.RedisOptions{Timeout: 3 * time.Second}

// loadResult is what a load run saw.
type loadResult struct {
	admitted []*gatewayv1.CompleteResponse
	rejected int64
	elapsed  time.Duration
}

// loadUntilLimited sends requests from workers goroutines per gateway
// until at least minDur has passed and the limit has refused at least
// minRejected requests (at most maxDur). A refused worker pauses so that
// the refusals do not starve the admitted calls of CPU. Errors other than
// ResourceExhausted fail the test.
func loadUntilLimited(t *testing.T, gws []*gateway, workers int, req func(n int64) *gatewayv1.CompleteRequest) loadResult {
	t.Helper()
	const (
		minDur      = 1500 * time.Millisecond
		maxDur      = 8 * time.Second
		minRejected = 30
		pause       = 10 * time.Millisecond
	)
	var (
		mu       sync.Mutex
		res      loadResult
		rejected atomic.Int64
		seq      atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for _, g := range gws {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					el := time.Since(start)
					if el > maxDur || (el >= minDur && rejected.Load() >= minRejected) {
						return
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					resp, err := g.client.Complete(ctx, req(seq.Add(1)))
					cancel()
					switch status.Code(err) {
					case codes.OK:
						mu.Lock()
						res.admitted = append(res.admitted, resp)
						mu.Unlock()
					case codes.ResourceExhausted:
						rejected.Add(1)
						time.Sleep(pause)
					default:
						t.Errorf("unexpected error: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.rejected = rejected.Load()
	if res.rejected < minRejected {
		t.Fatalf("the limit refused only %d requests in %v", res.rejected, res.elapsed)
	}
	return res
}

// gcraBounds is what a GCRA limit of limit per minute admits over
// elapsed, within 5%: the full burst, then a refill of limit/60 a second.
// Whatever the replicas' interleaving, the shared counter cannot admit
// more than the burst plus the refill; and once it has refused a request
// it has admitted at least the burst (less one request's worth).
func gcraBounds(limit float64, elapsed time.Duration) (lo, hi float64) {
	return limit * 0.95, limit + elapsed.Seconds()*limit/60 + limit*0.05
}

func TestReplicasShareOneRPMLimit(t *testing.T) {
	const rpm = 60
	gws := startReplicas(t, redistest.Start(t), 3,
		fmt.Sprintf(`{"limits": [{"name": "shared", "requests_per_minute": %d}]}`, rpm), sharedQuotaStore, true)
	// Distinct subjects, and no temperature: the answer cache never serves
	// them, every admitted request reaches a provider.
	res := loadUntilLimited(t, gws, 8, func(n int64) *gatewayv1.CompleteRequest {
		return request("openai_only", fmt.Sprintf("subject-%d", n))
	})
	for _, r := range res.admitted {
		if r.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
			t.Fatalf("served from %v", r.ServedFrom)
		}
	}
	admitted := float64(len(res.admitted))
	lo, hi := gcraBounds(rpm, res.elapsed)
	t.Logf("3 replicas, %d rpm: admitted %d, refused %d in %v (allowed %.1f..%.1f)",
		rpm, len(res.admitted), res.rejected, res.elapsed.Round(time.Millisecond), lo, hi)
	if admitted < lo || admitted > hi {
		t.Fatalf("admitted %d requests in %v, want %.1f..%.1f: the replicas do not share one limit",
			len(res.admitted), res.elapsed, lo, hi)
	}
}

func TestReplicasShareOneTPMLimit(t *testing.T) {
	const (
		tpm       = 6000
		maxTokens = 16
	)
	// A long prompt makes the requests few and each one a small part of
	// the limit.
	content := strings.Repeat("abcd", 100)
	gws := startReplicas(t, redistest.Start(t), 3,
		fmt.Sprintf(`{"limits": [{"name": "shared", "tokens_per_minute": %d}]}`, tpm), sharedQuotaStore, true)
	// What the gateway reserves for each request: its prompt estimate (no
	// model override, so a token per 4 bytes plus framing) and max_tokens.
	est := quota.EstimateTokens("", []providers.Message{{Role: providers.RoleUser, Content: content}}) + maxTokens
	res := loadUntilLimited(t, gws, 8, func(n int64) *gatewayv1.CompleteRequest {
		r := request("openai_only", fmt.Sprintf("subject-%d", n))
		r.Messages[0].Content = content
		r.Params.MaxTokens = proto.Int32(maxTokens)
		return r
	})
	// What the design guarantees: a request is admitted only if the
	// window's level plus its estimate fits the limit, and the level holds
	// every admitted request at its estimate until it ends, then at its
	// actual tokens. When no request uses more than its estimate (checked
	// here: the simulator counts the prompt as the gateway does, less the
	// reply priming, and never answers past max_tokens):
	//   - the actual tokens admitted are at most the limit plus the refill;
	//   - the estimates admitted are at least the limit less one estimate,
	//     since a refusal means the level plus one estimate overflowed;
	//     the actual tokens are at least that times actual/estimate.
	// A request whose actual tokens exceeded its estimate would be charged
	// the difference after the fact, past the limit; none does here.
	actual := 0
	for _, r := range res.admitted {
		n := int(r.Usage.GetInputTokens() + r.Usage.GetOutputTokens())
		if n > est || n <= 0 {
			t.Fatalf("a request used %d tokens, reserved %d: the bound below does not hold", n, est)
		}
		actual += n
	}
	estimated := est * len(res.admitted)
	lo, hi := gcraBounds(tpm, res.elapsed)
	t.Logf("3 replicas, %d tpm: admitted %d requests, %d tokens (%d estimated, %d per request), refused %d in %v (allowed %.0f..%.0f)",
		tpm, len(res.admitted), actual, estimated, est, res.rejected, res.elapsed.Round(time.Millisecond), lo, hi)
	if float64(actual) > hi {
		t.Fatalf("admitted %d tokens in %v, want at most %.0f: the replicas do not share one limit", actual, res.elapsed, hi)
	}
	if float64(estimated) < tpm-float64(est) || float64(actual) < lo {
		t.Fatalf("admitted %d tokens (%d estimated), want at least %.0f: the limit refused too early", actual, estimated, lo)
	}
}

// TestRedisKilledMidLoadLosesNoRequest kills the Redis that two replicas
// share for quota and cache in the middle of a steady load, and restarts
// it a second later. No request may fail: the cache falls back to misses
// and the quota (fail open, the default) to each replica's local limits.
// After the restart the replicas use Redis again.
func TestRedisKilledMidLoadLosesNoRequest(t *testing.T) {
	srv := redistest.StartServer(t)
	const limit = "generous"
	gws := startReplicas(t, srv.Addr(), 2,
		fmt.Sprintf(`{"limits": [{"name": %q, "requests_per_minute": 1000000}]}`, limit), quota.RedisOptions{}, false)
	a, b := gws[0], gws[1]

	var (
		stop             = make(chan struct{})
		wg               sync.WaitGroup
		ok, failed, down atomic.Int64
		redisDown        atomic.Bool
		seq              atomic.Int64
	)
	for _, g := range gws {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					// Half the requests are cacheable and new (a miss, then a
					// set), half the same cacheable request (hits).
					n := seq.Add(1)
					r := deterministic("openai_only", "u")
					if n%2 == 0 {
						r.Messages[0].Content = fmt.Sprintf("Question %d?", n)
					}
					duringOutage := redisDown.Load()
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err := g.client.Complete(ctx, r)
					cancel()
					if err != nil {
						if failed.Add(1) <= 5 {
							t.Errorf("request failed (started while Redis was down: %v): %v", duringOutage, err)
						}
						continue
					}
					ok.Add(1)
					if duringOutage {
						down.Add(1)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
		}
	}
	time.Sleep(400 * time.Millisecond)
	srv.Kill()
	redisDown.Store(true)
	time.Sleep(time.Second)
	redisDown.Store(false)
	srv.Restart()
	time.Sleep(400 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests answered (%d started while Redis was down), %d failed", ok.Load(), down.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	// Six workers: each starts at least one request during the outage
	// unless one of its requests outlasts the whole second.
	if down.Load() < 3 {
		t.Fatalf("only %d requests started while Redis was down", down.Load())
	}

	// Redis is back (empty): an answer replica a stores becomes a hit on
	// replica b, and the quota counts in Redis again.
	inspect := redisClient(t, srv.Addr())
	quotaKey := quota.DefaultRedisPrefix + limit + "|rpm"
	deadline := time.Now().Add(8 * time.Second)
	cacheBack, quotaBack := false, false
	for i := 0; !cacheBack || !quotaBack; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("Redis not used again after its restart: cache %v, quota %v", cacheBack, quotaBack)
		}
		r := deterministic("openai_only", "u")
		r.Messages[0].Content = fmt.Sprintf("After the restart %d?", i)
		if _, err := a.client.Complete(ctxT(t), r); err != nil {
			t.Fatal(err)
		}
		resp, err := b.client.Complete(ctxT(t), r)
		if err != nil {
			t.Fatal(err)
		}
		cacheBack = cacheBack || resp.ServedFrom == gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n, err := inspect.Exists(ctx, quotaKey).Result()
		cancel()
		quotaBack = quotaBack || (err == nil && n == 1)
		if !cacheBack || !quotaBack {
			time.Sleep(100 * time.Millisecond)
		}
	}
}
