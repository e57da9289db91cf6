package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/quota/quotatest"
)

func TestMemoryStore(t *testing.T) {
	quotatest.Run(t, func(*testing.T) quota.Store { return quota.NewMemoryStore() })
}

// TestMemoryStoreSweeps: counters that hold nothing are dropped.
func TestMemoryStoreSweeps(t *testing.T) {
	s := quota.NewMemoryStore()
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, key := range []string{"a|rpm", "b|rpm", "c|rpm"} {
		rem, d, err := s.Reserve(ctx, now, "id", []quota.Counter{{Key: key, Kind: quota.KindRequests, Max: 60, N: 1}})
		if d != nil || err != nil || len(rem) != 1 || rem[0] != 59 {
			t.Fatal(rem, d, err)
		}
	}
	if n := s.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	// One request of 60 per minute drains in a second.
	_, _, _ = s.Reserve(ctx, now.Add(2*time.Minute), "id", nil)
	if n := s.Len(); n != 0 {
		t.Errorf("Len after they drained = %d, want 0", n)
	}
}
