package experiment_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/experiment/storetest"
	"github.com/careerpath/llmgateway/internal/redistest"
)

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisStore(t *testing.T) {
	c := newClient(t, redistest.Start(t))
	var n atomic.Int64
	storetest.Run(t, func(_ *testing.T, opts storetest.Options) experiment.Store {
		// One server for the whole suite; a fresh prefix per subtest.
		prefix := "t" + strconv.FormatInt(n.Add(1), 10) + ":"
		return experiment.NewRedisStore(c, experiment.RedisOptions{Prefix: prefix, AttributionTTL: opts.AttributionTTL})
	})
}

// TestRedisStoreReplicas runs two gateway replicas' stores, each with its
// own client, on one Redis: both report the whole experiment, and feedback
// through either reaches a response recorded by the other.
func TestRedisStoreReplicas(t *testing.T) {
	addr := redistest.Start(t)
	ctx := context.Background()
	r1 := experiment.NewRedisStore(newClient(t, addr), experiment.RedisOptions{})
	r2 := experiment.NewRedisStore(newClient(t, addr), experiment.RedisOptions{})
	o := benchObservation()
	for i := range 30 {
		st := r1
		if i%3 == 0 {
			st = r2
		}
		o.ResponseID = "resp-" + strconv.Itoa(i)
		o.Latency = time.Duration(100+i) * time.Millisecond
		if err := st.Record(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// Verdicts for r2's responses through r1 and the other way round.
	for i := range 30 {
		st := r2
		if i%3 == 0 {
			st = r1
		}
		if _, err := st.Feedback(ctx, "resp-"+strconv.Itoa(i), experiment.AnyClient, experiment.Bool(i%2 == 0)); err != nil {
			t.Fatal(err)
		}
	}
	for name, st := range map[string]experiment.Store{"replica 1": r1, "replica 2": r2} {
		snap, err := st.Snapshot(ctx, o.Experiment)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Variants) != 1 {
			t.Fatalf("%s: variants %+v", name, snap.Variants)
		}
		v := snap.Variants[0]
		if v.Requests != 30 || v.Successes != 15 || v.Failures != 15 || v.Latency.Count() != 30 {
			t.Errorf("%s sees %d requests, %d/%d verdicts, %d latencies; want 30, 15/15, 30",
				name, v.Requests, v.Successes, v.Failures, v.Latency.Count())
		}
		if p50 := v.Latency.Quantile(0.5); p50 < 105*time.Millisecond || p50 > 125*time.Millisecond {
			t.Errorf("%s: merged p50 %v, want about 115ms", name, p50)
		}
	}
	// Without a shared prefix, replicas do not see each other.
	r3 := experiment.NewRedisStore(newClient(t, addr), experiment.RedisOptions{Prefix: "staging:"})
	if snap, err := r3.Snapshot(ctx, o.Experiment); err != nil || len(snap.Variants) != 0 {
		t.Errorf("another prefix sees %+v, %v", snap, err)
	}
}

// TestRedisStoreServerDown: a store whose Redis is gone fails fast with an
// error (the gateway logs it and answers anyway) and works again once Redis
// is back.
func TestRedisStoreServerDown(t *testing.T) {
	srv := redistest.StartServer(t)
	st := experiment.NewRedisStore(newClient(t, srv.Addr()), experiment.RedisOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := benchObservation()
	o.ResponseID = "before"
	if err := st.Record(ctx, o); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := st.Record(ctx, o); err == nil {
		t.Fatal("Record with Redis down succeeded")
	}
	if _, err := st.Feedback(ctx, "before", experiment.AnyClient, experiment.Bool(true)); err == nil || errors.Is(err, experiment.ErrUnknownResponse) {
		t.Fatalf("Feedback with Redis down: %v, want a connection error", err)
	}
	if _, err := st.Snapshot(ctx, o.Experiment); err == nil {
		t.Fatal("Snapshot with Redis down succeeded")
	}
	srv.Restart()
	// The restarted server is empty: the old response is unknown now, new
	// ones work.
	if _, err := st.Feedback(ctx, "before", experiment.AnyClient, experiment.Bool(true)); !errors.Is(err, experiment.ErrUnknownResponse) {
		t.Fatalf("Feedback after restart: %v, want ErrUnknownResponse", err)
	}
	o.ResponseID = "after"
	if err := st.Record(ctx, o); err != nil {
		t.Fatalf("Record after restart: %v", err)
	}
	if _, err := st.Feedback(ctx, "after", experiment.AnyClient, experiment.Bool(true)); err != nil {
		t.Fatalf("Feedback after restart: %v", err)
	}
}

func BenchmarkRedisRecord(b *testing.B) {
	c := newClient(b, redistest.Start(b))
	s := experiment.NewRedisStore(c, experiment.RedisOptions{})
	ids := benchIDs(1 << 16)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		o := benchObservation()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			o.ResponseID = ids[i&(len(ids)-1)]
			i++
			if err := s.Record(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			o := benchObservation()
			for pb.Next() {
				o.ResponseID = ids[next.Add(1)&(1<<16-1)]
				if err := s.Record(ctx, o); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
