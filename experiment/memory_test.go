package experiment_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/experiment/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, opts storetest.Options) experiment.Store {
		return experiment.NewMemoryStore(experiment.MemoryOptions{AttributionTTL: opts.AttributionTTL})
	})
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestMemoryStoreForgetsOldestPastCapacity(t *testing.T) {
	clock := &fakeClock{}
	// 64 shards × 1 slot each.
	s := experiment.NewMemoryStore(experiment.MemoryOptions{MaxResponses: 64, Now: clock.now})
	ctx := context.Background()
	const n = 64 * 20
	for i := range n {
		o := experiment.Observation{Route: "r", Experiment: "r", Variant: "v", ResponseID: "id-" + strconv.Itoa(i)}
		if err := s.Record(ctx, o); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Millisecond)
	}
	known := 0
	for i := range n {
		if _, err := s.Feedback(ctx, "id-"+strconv.Itoa(i), experiment.AnyClient, experiment.Bool(true)); err == nil {
			known++
		} else if !errors.Is(err, experiment.ErrUnknownResponse) {
			t.Fatal(err)
		}
	}
	if known == 0 || known > 64 {
		t.Errorf("%d of %d responses remembered, want 1 to 64", known, n)
	}
	// The newest response is always remembered.
	if _, err := s.Feedback(ctx, "id-"+strconv.Itoa(n-1), experiment.AnyClient, experiment.Bool(true)); err != nil {
		t.Errorf("newest response forgotten: %v", err)
	}
}

func TestMemoryStoreReRecordedIDsStayBounded(t *testing.T) {
	// The same few ids recorded over and over (a cache returning its
	// stored id, say) must not grow the store without bound; the latest
	// attribution of each id wins.
	s := experiment.NewMemoryStore(experiment.MemoryOptions{MaxResponses: 64})
	ctx := context.Background()
	for i := range 10_000 {
		v := "a"
		if i >= 9_990 {
			v = "b"
		}
		o := experiment.Observation{Route: "r", Experiment: "r", Variant: v, ResponseID: "id-" + strconv.Itoa(i%10)}
		if err := s.Record(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Responses(); n > 64 {
		t.Errorf("%d attributions kept, want at most 64", n)
	}
	at, err := s.Feedback(ctx, "id-3", experiment.AnyClient, experiment.Bool(true))
	if err != nil || at.Variant != "b" {
		t.Errorf("Feedback(id-3) = %+v, %v; want variant b", at, err)
	}
}

func TestMemoryStoreExpiryWithClock(t *testing.T) {
	clock := &fakeClock{}
	s := experiment.NewMemoryStore(experiment.MemoryOptions{Now: clock.now})
	ctx := context.Background()
	o := experiment.Observation{Route: "r", Experiment: "r", Variant: "v", ResponseID: "id"}
	if err := s.Record(ctx, o); err != nil {
		t.Fatal(err)
	}
	clock.advance(experiment.DefaultAttributionTTL - time.Second)
	if _, err := s.Feedback(ctx, "id", experiment.AnyClient, experiment.Bool(true)); err != nil {
		t.Fatalf("feedback a second before the 7 days are over: %v", err)
	}
	clock.advance(time.Second)
	if _, err := s.Feedback(ctx, "id", experiment.AnyClient, experiment.Bool(true)); !errors.Is(err, experiment.ErrUnknownResponse) {
		t.Fatalf("feedback after 7 days: %v, want ErrUnknownResponse", err)
	}
}

// benchObservation is a typical successful request.
func benchObservation() experiment.Observation {
	return experiment.Observation{
		Route: "career_advice", Experiment: "career_advice", Variant: "gpt4o_mini",
		Provider: "openai", Model: "gpt-4o-mini-2024-07-18",
		Latency: 850 * time.Millisecond, InputTokens: 420, OutputTokens: 310, CostUSD: 0.000249,
	}
}

// benchIDs are distinct response ids made before the timer starts, so that
// the benchmark measures the store, not the id formatting.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "chatcmpl-" + strconv.Itoa(1_000_000_000+i)
	}
	return ids
}

func BenchmarkMemoryRecord(b *testing.B) {
	b.Run("counters", func(b *testing.B) {
		s := experiment.NewMemoryStore(experiment.MemoryOptions{})
		o := benchObservation()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Record(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("with_response_id", func(b *testing.B) {
		s := experiment.NewMemoryStore(experiment.MemoryOptions{})
		ids := benchIDs(1 << 16)
		o := benchObservation()
		ctx := context.Background()
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
	b.Run("at_capacity", func(b *testing.B) {
		// Every record forgets the oldest response.
		s := experiment.NewMemoryStore(experiment.MemoryOptions{MaxResponses: 1 << 12})
		ids := benchIDs(1 << 16)
		o := benchObservation()
		ctx := context.Background()
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
		s := experiment.NewMemoryStore(experiment.MemoryOptions{})
		ids := benchIDs(1 << 16)
		ctx := context.Background()
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
