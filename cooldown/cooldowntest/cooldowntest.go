// Package cooldowntest is the conformance suite every [cooldown.Store]
// runs, so that the memory and the Redis store keep cooldowns the same
// way.
package cooldowntest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cooldown"
)

// Factory returns a new, empty store, independent of every store it
// returned before. It is called once per subtest.
type Factory func(t *testing.T) cooldown.Store

// Run runs the suite against the stores newStore returns. Its timing
// bounds are wide: they hold on a slow, loaded machine.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, cooldown.Store)
	}{
		{"NoneByDefault", testNone},
		{"Hold", testHold},
		{"LongerWins", testLongerWins},
		{"Expires", testExpires},
		{"PerProvider", testPerProvider},
		{"NonPositiveIgnored", testNonPositive},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func remaining(t *testing.T, s cooldown.Store, provider string) time.Duration {
	t.Helper()
	d, err := s.Remaining(context.Background(), provider)
	if err != nil {
		t.Fatalf("Remaining(%q): %v", provider, err)
	}
	return d
}

func hold(t *testing.T, s cooldown.Store, provider string, d time.Duration) {
	t.Helper()
	if err := s.Hold(context.Background(), provider, d); err != nil {
		t.Fatalf("Hold(%q, %v): %v", provider, d, err)
	}
}

func testNone(t *testing.T, s cooldown.Store) {
	if d := remaining(t, s, "openai"); d != 0 {
		t.Fatalf("a provider never held has %v left, want 0", d)
	}
}

func testHold(t *testing.T, s cooldown.Store) {
	hold(t, s, "openai", 30*time.Second)
	d := remaining(t, s, "openai")
	if d <= 20*time.Second || d > 30*time.Second {
		t.Fatalf("held for 30s, %v left: want (20s, 30s]", d)
	}
}

func testLongerWins(t *testing.T, s cooldown.Store) {
	hold(t, s, "openai", time.Minute)
	hold(t, s, "openai", time.Second)
	if d := remaining(t, s, "openai"); d <= 50*time.Second {
		t.Fatalf("a shorter hold cut a 1m cooldown to %v", d)
	}
	hold(t, s, "anthropic", time.Second)
	hold(t, s, "anthropic", time.Minute)
	if d := remaining(t, s, "anthropic"); d <= 50*time.Second {
		t.Fatalf("a longer hold did not extend a 1s cooldown: %v left", d)
	}
}

func testExpires(t *testing.T, s cooldown.Store) {
	hold(t, s, "openai", 200*time.Millisecond)
	if d := remaining(t, s, "openai"); d <= 0 || d > 200*time.Millisecond {
		t.Fatalf("held for 200ms, %v left", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for remaining(t, s, "openai") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a 200ms cooldown still holds after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testPerProvider(t *testing.T, s cooldown.Store) {
	hold(t, s, "openai", time.Minute)
	if d := remaining(t, s, "anthropic"); d != 0 {
		t.Fatalf("holding openai cooled anthropic down for %v", d)
	}
}

func testNonPositive(t *testing.T, s cooldown.Store) {
	hold(t, s, "openai", 0)
	hold(t, s, "openai", -time.Second)
	if d := remaining(t, s, "openai"); d != 0 {
		t.Fatalf("a zero or negative hold left a cooldown of %v", d)
	}
}

func testConcurrent(t *testing.T, s cooldown.Store) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			d := time.Duration(i+1) * time.Second
			if err := s.Hold(context.Background(), "openai", d); err != nil {
				t.Errorf("Hold: %v", err)
			}
			if _, err := s.Remaining(context.Background(), "openai"); err != nil {
				t.Errorf("Remaining: %v", err)
			}
		})
	}
	wg.Wait()
	if d := remaining(t, s, "openai"); d <= 15*time.Second {
		t.Fatalf("after concurrent holds of up to 20s, %v left: the longest must win", d)
	}
}
