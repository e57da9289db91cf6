package edge_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers/sim"
)

func deterministic(route, subject string) *gatewayv1.CompleteRequest {
	r := request(route, subject)
	r.Params.Temperature = proto.Float64(0)
	return r
}

func chatRequests(s *sim.Server) int64 { return s.Stats().Requests[sim.PathChatCompletions] }

func TestCacheHitsAndMisses(t *testing.T) {
	g := startGateway(t, sim.Config{})
	first, err := g.client.Complete(ctxT(t), deterministic("openai_only", "u"))
	if err != nil || first.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
		t.Fatalf("first: %v %v", first, err)
	}
	hit, err := g.client.Complete(ctxT(t), deterministic("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	if hit.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT || hit.Step != gatewayv1.FailoverStep_FAILOVER_STEP_CACHE ||
		hit.Text != first.Text || hit.CostUsd != 0 || hit.Id == first.Id || !proto.Equal(hit.Usage, first.Usage) {
		t.Fatalf("hit = %v\nfirst = %v", hit, first)
	}
	if n := chatRequests(g.openai); n != 1 {
		t.Fatalf("provider saw %d requests, want 1", n)
	}

	// Any change to what shapes the answer is a miss.
	for name, mutate := range map[string]func(r *gatewayv1.CompleteRequest){
		"max_tokens": func(r *gatewayv1.CompleteRequest) { r.Params.MaxTokens = proto.Int32(65) },
		"message":    func(r *gatewayv1.CompleteRequest) { r.Messages[0].Content += "?" },
		"stop":       func(r *gatewayv1.CompleteRequest) { r.Params.Stop = []string{"END"} },
		"seed":       func(r *gatewayv1.CompleteRequest) { r.Params.Seed = proto.Int64(7) },
		"bypass":     func(r *gatewayv1.CompleteRequest) { r.Cache = &gatewayv1.CacheControl{Bypass: true} },
	} {
		r := deterministic("openai_only", "u")
		mutate(r)
		resp, err := g.client.Complete(ctxT(t), r)
		if err != nil || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
			t.Fatalf("%s: %v %v", name, resp.GetServedFrom(), err)
		}
	}
	// Not deterministic and no opt-in: never cached.
	for range 2 {
		if resp, err := g.client.Complete(ctxT(t), request("openai_only", "u")); err != nil || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
			t.Fatalf("temperature unset: %v %v", resp.GetServedFrom(), err)
		}
	}
	// The caller opts in with a TTL.
	r := request("openai_only", "u")
	r.Cache = &gatewayv1.CacheControl{Ttl: durationpb.New(time.Minute)}
	_, _ = g.client.Complete(ctxT(t), r)
	if resp, err := g.client.Complete(ctxT(t), r); err != nil || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT {
		t.Fatalf("caller TTL: %v %v", resp.GetServedFrom(), err)
	}
	if !strings.Contains(scrape(t, g), `llmgateway_cache_lookups_total{result="hit"} 2`) {
		t.Fatal("cache hits not counted")
	}
}

func TestCachePartitionedByClient(t *testing.T) {
	g := startAuthGateway(t)
	r := deterministic("career_advice", "u")
	r.ForceVariant = "gpt"
	if _, err := g.client.Complete(withKey(ctxT(t), qaKey), r); err != nil {
		t.Fatal(err)
	}
	resp, err := g.client.Complete(withKey(ctxT(t), qaKey), r)
	if err != nil || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT {
		t.Fatalf("same client: %v %v", resp.GetServedFrom(), err)
	}
	r.ForceVariant = ""
	r.Caller.Subject = "subject-on-gpt"
	for i := 0; ; i++ { // find a subject the rails client shares the gpt variant with
		r.Caller.Subject = "s" + string(rune('a'+i))
		resp, err = g.client.Complete(withKey(ctxT(t), railsKey), r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Variant == "gpt" {
			break
		}
	}
	if resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
		t.Fatalf("another client read a cached answer: %v", resp.ServedFrom)
	}
}

func TestCacheCoalescesIdenticalRequests(t *testing.T) {
	g := startGateway(t, sim.Config{Latency: 200 * time.Millisecond})
	var wg sync.WaitGroup
	served := make(chan gatewayv1.ServedFrom, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := g.client.Complete(ctxT(t), deterministic("openai_only", "u"))
			if err != nil {
				t.Error(err)
				return
			}
			served <- resp.ServedFrom
		}()
	}
	wg.Wait()
	close(served)
	fresh := 0
	for s := range served {
		if s == gatewayv1.ServedFrom_SERVED_FROM_FRESH {
			fresh++
		}
	}
	if n := chatRequests(g.openai); n != 1 || fresh != 1 {
		t.Fatalf("100 identical requests made %d upstream calls, %d fresh answers; want 1 and 1", n, fresh)
	}
}

func TestCacheCoalescingSurvivesTheFirstCallerLeaving(t *testing.T) {
	g := startGateway(t, sim.Config{Latency: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, err := g.client.Complete(ctx, deterministic("openai_only", "u"))
		firstDone <- err
	}()
	time.Sleep(50 * time.Millisecond)
	second := make(chan error, 1)
	go func() {
		_, err := g.client.Complete(ctxT(t), deterministic("openai_only", "u"))
		second <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-firstDone; err == nil {
		t.Fatal("the canceled caller got an answer")
	}
	if err := <-second; err != nil {
		t.Fatalf("the first caller's cancellation failed the second: %v", err)
	}
	if n := chatRequests(g.openai); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

func TestCacheStreams(t *testing.T) {
	g := startGateway(t, sim.Config{})
	st, err := g.client.Stream(ctxT(t), deterministic("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	text, final := drain(t, st)
	if final.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH {
		t.Fatalf("first stream: %v", final.ServedFrom)
	}
	// Replayed as a stream, in several deltas.
	st, err = g.client.Stream(ctxT(t), deterministic("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	deltas := 0
	var replayed strings.Builder
	var hit *gatewayv1.StreamResponse
	for {
		m, err := st.Recv()
		if err != nil {
			break
		}
		if m.Done {
			hit = m
		} else {
			deltas++
			replayed.WriteString(m.Delta)
		}
	}
	if hit == nil || hit.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT || replayed.String() != text || deltas < 2 || hit.CostUsd != 0 {
		t.Fatalf("replay: %d deltas %q vs %q, final %v", deltas, replayed.String(), text, hit)
	}
	// A stream fills the cache for unary calls too.
	resp, err := g.client.Complete(ctxT(t), deterministic("openai_only", "u"))
	if err != nil || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT || resp.Text != text {
		t.Fatalf("unary after stream: %v %v", resp, err)
	}
	if n := chatRequests(g.openai); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// TestStaleAnswerWhenAllProvidersFail is the failover chain's third step
// end to end: the cached answer is past its TTL, every provider fails, and
// the stale answer is served, marked stale.
func TestStaleAnswerWhenAllProvidersFail(t *testing.T) {
	g := startFailover(t)
	r := request("career_advice", "u")
	r.Cache = &gatewayv1.CacheControl{Ttl: durationpb.New(50 * time.Millisecond)}
	fresh, err := g.client.Complete(ctxT(t), r)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for _, s := range []*sim.Server{g.openai, g.anthropic} {
		if err := s.SetFault(sim.Fault{Status: 500}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := g.client.Complete(ctxT(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE || resp.Step != gatewayv1.FailoverStep_FAILOVER_STEP_STALE_CACHE ||
		resp.Text != fresh.Text || resp.CostUsd != 0 || len(resp.FailedAttempts) != 5 {
		t.Fatalf("resp = %v", resp)
	}
	// Streams too.
	st, err := g.client.Stream(ctxT(t), r)
	if err != nil {
		t.Fatal(err)
	}
	text, final := drain(t, st)
	if text != fresh.Text || final.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE {
		t.Fatalf("stream: %q %v", text, final.ServedFrom)
	}
}

// TestCacheSharedThroughRedis runs two gateways on one real redis-server:
// an answer one of them stored is a hit on the other.
func TestCacheSharedThroughRedis(t *testing.T) {
	addr := redistest.Start(t)
	newStore := func() cache.Store {
		c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		return cache.NewRedisStore(c, cache.RedisOptions{})
	}
	files := map[string]string{config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes}
	a := startGatewayOpts(t, sim.Config{}, files, edge.Options{Service: core.Options{Cache: newStore()}})
	b := startGatewayOpts(t, sim.Config{}, files, edge.Options{Service: core.Options{Cache: newStore()}})
	first, err := a.client.Complete(ctxT(t), deterministic("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.client.Complete(ctxT(t), deterministic("openai_only", "u"))
	if err != nil || resp.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT || resp.Text != first.Text {
		t.Fatalf("replica b: %v %v", resp, err)
	}
	if n := chatRequests(b.openai); n != 0 {
		t.Fatalf("replica b called its provider %d times", n)
	}
}
