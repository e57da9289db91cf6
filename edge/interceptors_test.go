package edge

import (
	"slices"
	"testing"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/gateway"
)

// TestChainOrder pins the interceptor order the design depends on:
// recovery outermost, so a panic anywhere is an Internal error; metrics and
// logging before auth, so refused calls are logged; shutdown right inside
// logging, so that the calls it ends when the grace period is over are
// logged with the status they were ended with; auth before validation and
// quota, so only known clients spend quota and quota is keyed by client;
// status innermost, so every interceptor above it sees final gRPC codes.
func TestChainOrder(t *testing.T) {
	mem := cache.NewMemoryStore(cache.MemoryOptions{})
	defer func() { _ = mem.Close() }()
	srv, err := New(Options{Service: gateway.Options{Cache: mem}}, &gateway.Runtime{Config: &config.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.grpc.Stop() // never started
	want := []string{"recovery", "metrics", "logging", "shutdown", "auth", "validation", "quota", "status"}
	if got := srv.chain.Names(); !slices.Equal(got, want) {
		t.Fatalf("chain = %v, want %v", got, want)
	}
}
