package usage_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/usage"
	"github.com/careerpath/llmgateway/usage/usagetest"
)

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisStore(t *testing.T) {
	c := newClient(t, redistest.Start(t))
	var n atomic.Int64
	usagetest.Run(t, func(_ *testing.T, r usage.Retention) usage.Store {
		// One server for the suite, a fresh prefix per subtest.
		prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
		return usage.NewRedisStore(c, usage.RedisOptions{Prefix: prefix, Retention: r})
	})
}

// TestRedisStoreLayout: one hash per bucket, named by its start, with
// integer counters per dimensions, expiring when its retention ends.
func TestRedisStoreLayout(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, redistest.Start(t))
	s := usage.NewRedisStore(c, usage.RedisOptions{})
	at := time.Now().UTC()
	e := usage.Entry{Time: at, Dims: usage.Dims{Client: "rails-app", Provider: "openai", Model: "gpt-4o-mini", Route: "career_advice"},
		InputTokens: 100, OutputTokens: 20, Cost: usage.FromUSD(0.000027)}
	if err := s.Record(ctx, e); err != nil {
		t.Fatal(err)
	}
	hour := "llmgw:usage:h:" + at.Format("2006010215")
	if got := s.Key(usage.Hour, usage.Hour.Start(at)); got != hour {
		t.Errorf("Key = %q, want %q", got, hour)
	}
	for g, key := range map[usage.Granularity]string{
		usage.Hour: hour, usage.Day: "llmgw:usage:d:" + at.Format("20060102"), usage.Month: "llmgw:usage:m:" + at.Format("200601"),
	} {
		fields, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"rails-app|openai|gpt-4o-mini|career_advice|req":  "1",
			"rails-app|openai|gpt-4o-mini|career_advice|in":   "100",
			"rails-app|openai|gpt-4o-mini|career_advice|out":  "20",
			"rails-app|openai|gpt-4o-mini|career_advice|cost": "27000",
		}
		if len(fields) != len(want) {
			t.Errorf("%s: fields %v, want %v", key, fields, want)
		}
		for f, v := range want {
			if fields[f] != v {
				t.Errorf("%s: %s = %q, want %q", key, f, fields[f], v)
			}
		}
		exp, err := c.ExpireTime(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := usage.DefaultRetention.ExpiresAt(g, g.Start(at)); exp != time.Duration(want.Unix())*time.Second {
			t.Errorf("%s expires at %v, want %v", key, time.Unix(int64(exp/time.Second), 0).UTC(), want)
		}
	}
}

// TestRedisStoreReplicas: two replicas, each with its own client, add to
// one ledger, and each reports all of it.
func TestRedisStoreReplicas(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	r1 := usage.NewRedisStore(newClient(t, addr), usage.RedisOptions{})
	r2 := usage.NewRedisStore(newClient(t, addr), usage.RedisOptions{})
	now := time.Now()
	for i := range 20 {
		s := r1
		if i%2 == 1 {
			s = r2
		}
		if err := s.Record(ctx, usage.Entry{Time: now, Dims: usagetest.Dims(i), OutputTokens: 1, Cost: 5}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []usage.Store{r1, r2} {
		r, err := usage.Report(ctx, s, usage.Query{Granularity: usage.Day}, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Total.Requests != 20 || r.Total.OutputTokens != 20 || r.Total.Cost != 100 {
			t.Errorf("total %+v", r.Total)
		}
	}
}

// TestRedisStoreDown: with Redis gone, Record and Load fail within the
// timeout instead of hanging.
func TestRedisStoreDown(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartServer(t)
	s := usage.NewRedisStore(newClient(t, srv.Addr()), usage.RedisOptions{Timeout: 200 * time.Millisecond})
	srv.Kill()
	start := time.Now()
	if err := s.Record(ctx, usage.Entry{Time: start, InputTokens: 1}); err == nil {
		t.Error("Record with Redis down succeeded")
	}
	if _, err := s.Load(ctx, usage.Day, usage.Day.Start(start), usage.Day.Add(usage.Day.Start(start), 1)); err == nil {
		t.Error("Load with Redis down succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}
