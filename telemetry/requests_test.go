package telemetry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/telemetry"
)

// TestRedisUp pings a real Redis at scrape time: 1 per store while it
// answers, 0 once it is gone.
func TestRedisUp(t *testing.T) {
	srv := redistest.StartServer(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer func() { _ = client.Close() }()
	m := telemetry.NewMetrics()
	m.RedisUp(func(ctx context.Context) error { return client.Ping(ctx).Err() }, "cache", "quota")
	want := func(v string) string {
		return `
# HELP llmgateway_redis_up Whether Redis answered a ping at scrape time (1) or not (0), by the state kept there.
# TYPE llmgateway_redis_up gauge
llmgateway_redis_up{store="cache"} ` + v + `
llmgateway_redis_up{store="quota"} ` + v + `
`
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("1")), "llmgateway_redis_up"); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("0")), "llmgateway_redis_up"); err != nil {
		t.Fatal(err)
	}
}
