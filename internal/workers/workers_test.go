package workers

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEveryFunctionRunsAndWorkersAreReused(t *testing.T) {
	start := started.Load()
	var wg sync.WaitGroup
	ran := make([]bool, 200)
	for i := range ran {
		wg.Add(1)
		Go(func() { ran[i] = true; wg.Done() })
		wg.Wait()
		time.Sleep(100 * time.Microsecond) // the worker goes back to waiting
	}
	for i, ok := range ran {
		if !ok {
			t.Fatalf("function %d did not run", i)
		}
	}
	if n := started.Load() - start; n > 20 {
		t.Errorf("%d workers started for 200 functions run one after another: not reused", n)
	}
	// Many at once: each runs, on as many workers as needed.
	ran = make([]bool, 500)
	for i := range ran {
		wg.Add(1)
		Go(func() { ran[i] = true; time.Sleep(time.Millisecond); wg.Done() })
	}
	wg.Wait()
	for i, ok := range ran {
		if !ok {
			t.Fatalf("concurrent function %d did not run", i)
		}
	}
}

func TestIdleWorkersExit(t *testing.T) {
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		Go(func() { time.Sleep(time.Millisecond); wg.Done() })
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines %v after the work, %d before: idle workers did not exit", n, idle, before)
	}
}

func BenchmarkGo(b *testing.B) {
	var wg sync.WaitGroup
	b.Run("workers", func(b *testing.B) {
		for b.Loop() {
			wg.Add(1)
			Go(func() { deep(40); wg.Done() })
			wg.Wait()
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		for b.Loop() {
			wg.Add(1)
			go func() { deep(40); wg.Done() }()
			wg.Wait()
		}
	})
}

// deep recurses with a sizeable frame, as a cache miss's work does.
//
//go:noinline
func deep(n int) byte {
	var frame [512]byte
	frame[n%len(frame)] = byte(n)
	if n == 0 {
		return frame[0]
	}
	return deep(n-1) + frame[n%len(frame)]
}
