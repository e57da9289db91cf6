package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		floor, live uint64
		want        int
	}{
		{64 << 20, 8 << 20, 700},   // the next cycle at 64 MiB
		{64 << 20, 32 << 20, 100},  // half the floor: as by default
		{64 << 20, 200 << 20, 100}, // above: as by default
		{64 << 20, 1 << 10, 5000},  // almost empty: bounded
		{64 << 20, 0, 5000},        // nothing live yet
		{64 << 20, 20 << 20, 220},  // rounded down
	} {
		if got := Percent(c.floor, c.live); got != c.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", c.floor, c.live, got, c.want)
		}
	}
}

var keep [][]byte

// TestTunerFollowsTheLiveHeap: the percent is set at start and again
// after collections, from the live heap; Stop puts 100 back.
func TestTunerFollowsTheLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tu := Start(1 << 30)
	defer tu.Stop()
	if p := tu.Percent(); p <= 100 {
		t.Fatalf("percent after start = %d, want above 100 on a small heap", p)
	}
	before := tu.Percent()
	// Hold about 600 MiB live: the floor of 1 GiB then asks for less.
	for range 600 {
		keep = append(keep, make([]byte, 1<<20))
	}
	deadline := time.Now().Add(10 * time.Second)
	for tu.Percent() >= before && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p := tu.Percent(); p >= before || p < 100 {
		t.Errorf("percent with 600 MiB live = %d (was %d)", p, before)
	}
	keep = nil
	tu.Stop()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("percent after Stop = %d, want 100", p)
	}
}

func TestZeroFloorDoesNothing(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tu := Start(0)
	tu.Stop()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("percent = %d, want 100 untouched", p)
	}
}
