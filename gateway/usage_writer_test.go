package gateway

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/internal/batchwriter"
	"github.com/careerpath/llmgateway/internal/redistest"
	ledger "github.com/careerpath/llmgateway/usage"
)

// TestLedgerWriterLosesNothing: answers recorded from many goroutines at
// once, through a queue small enough to overflow (those answers are then
// written by their own goroutines), all reach a real Redis ledger, in
// exact sums, once Flush returns and again after Close; answers recorded
// after Close are written at once.
func TestLedgerWriterLosesNothing(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: redistest.Start(t), ContextTimeoutEnabled: true, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	st := ledger.NewRedisStore(c, ledger.RedisOptions{})
	l := newLedger(st, nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
	// A store timeout a slow machine cannot reach: this test is about
	// losing nothing.
	l.writer = batchwriter.New(l.writerOptions(8, 5, 10*time.Second))
	ctx := auth.NewContext(context.Background(), &auth.Client{Name: "rails-app"})

	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				l.Outcome(ctx, benchOutcome)
			}
		})
	}
	wg.Wait()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	checkLedger(t, st, workers*each)
	l.Close()
	l.Outcome(ctx, benchOutcome)
	checkLedger(t, st, workers*each+1)
	if f := l.Failures(); f != 0 {
		t.Errorf("%d failures", f)
	}
}

// checkLedger checks that st's current month holds n answers of
// benchOutcome.
func checkLedger(t *testing.T, st ledger.Store, n int64) {
	t.Helper()
	start := ledger.Month.Start(time.Now())
	bs, err := st.Load(context.Background(), ledger.Month, start, start.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got ledger.Counts
	for _, b := range bs {
		for _, c := range b.Counts {
			got.Requests += c.Requests
			got.InputTokens += c.InputTokens
			got.OutputTokens += c.OutputTokens
			got.Cost += c.Cost
		}
	}
	u := benchOutcome.Usage
	want := ledger.Counts{Requests: n, InputTokens: n * u.InputTokens, OutputTokens: n * u.OutputTokens,
		Cost: ledger.Nanos(n) * benchOutcome.Cost}
	if got != want {
		t.Errorf("ledger %+v, want %+v", got, want)
	}
}
