package resilience

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/careerpath/llmgateway/providers"
)

func TestClassify(t *testing.T) {
	pe := func(k providers.ErrorKind) error { return &providers.Error{Kind: k} }
	tests := []struct {
		name                         string
		err                          error
		retry, failover, breakerFail bool
	}{
		{"server error", pe(providers.KindServer), true, true, true},
		{"rate limited", pe(providers.KindRateLimited), true, true, true},
		{"overloaded", pe(providers.KindOverloaded), true, true, true},
		{"timeout", pe(providers.KindTimeout), true, true, true},
		{"unavailable", pe(providers.KindUnavailable), true, true, true},
		{"attempt timeout", timeout.ErrExceeded, true, true, true},
		{"bad request", pe(providers.KindBadRequest), false, false, false},
		{"context length", pe(providers.KindContextLength), false, false, false},
		{"caller canceled", pe(providers.KindCanceled), false, false, false},
		{"auth", pe(providers.KindAuth), false, true, true},
		{"quota exhausted", pe(providers.KindQuotaExhausted), false, true, true},
		{"breaker open", circuitbreaker.ErrOpen, false, true, false},
		{"bulkhead full", bulkhead.ErrFull, false, true, false},
		{"retry-after too long", &errFailoverNow{pe(providers.KindRateLimited)}, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryable(tt.err); got != tt.retry {
				t.Errorf("retryable = %v", got)
			}
			if got := failoverable(context.Background(), tt.err); got != tt.failover {
				t.Errorf("failoverable = %v", got)
			}
			if got := breakerFailure(tt.err); got != tt.breakerFail {
				t.Errorf("breakerFailure = %v", got)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if failoverable(ctx, pe(providers.KindServer)) {
		t.Error("failing over for a caller who left")
	}
}

func TestRetryDelay(t *testing.T) {
	const initial, maxB = 100 * time.Millisecond, time.Second
	for attempts, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 9: time.Second} {
		if got := retryDelay(errors.New("x"), attempts, initial, maxB, 0); got != want {
			t.Errorf("attempts %d: delay %v, want %v", attempts, got, want)
		}
		for range 100 {
			got := retryDelay(errors.New("x"), attempts, initial, maxB, 0.2)
			if got < time.Duration(float64(want)*0.8) || got > time.Duration(float64(want)*1.2) {
				t.Fatalf("attempts %d: jittered delay %v outside ±20%% of %v", attempts, got, want)
			}
		}
	}
	ra := &providers.Error{Kind: providers.KindRateLimited, RetryAfter: 3 * time.Second}
	if got := retryDelay(ra, 1, initial, maxB, 0.2); got != 3*time.Second {
		t.Errorf("Retry-After: delay %v, want exactly 3s", got)
	}
}

func TestFitRetryAfter(t *testing.T) {
	g := &Guard{name: "p", maxRetryAfter: 5 * time.Second}
	ra := &providers.Error{Kind: providers.KindRateLimited, RetryAfter: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var now *errFailoverNow
	if !errors.As(g.fitRetryAfter(ctx, ra), &now) {
		t.Error("a Retry-After past the deadline must fail over at once")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if errors.As(g.fitRetryAfter(ctx2, ra), &now) {
		t.Error("a Retry-After inside the deadline must be waited for")
	}
	long := &providers.Error{Kind: providers.KindRateLimited, RetryAfter: 30 * time.Second}
	ctx3, cancel3 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel3()
	if !errors.As(g.fitRetryAfter(ctx3, long), &now) {
		t.Error("a Retry-After over max_retry_after must fail over however long the deadline")
	}
	if !errors.As(g.fitRetryAfter(context.Background(), long), &now) {
		t.Error("a Retry-After over max_retry_after must fail over without a deadline")
	}
	if errors.As(g.fitRetryAfter(context.Background(), ra), &now) {
		t.Error("a Retry-After within max_retry_after must be waited for without a deadline")
	}
}
