package auth

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"
)

// BenchmarkKeyFromMetadata reads the key of a call carrying the headers
// a gRPC client and the edge forward.
func BenchmarkKeyFromMetadata(b *testing.B) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		":authority", "127.0.0.1:8080", "content-type", "application/grpc", "user-agent", "grpc-go/1.85.0",
		"te", "trailers", "grpc-accept-encoding", "gzip", "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		HeaderAuthorization, "Bearer gw-test-key-0123456789"))
	b.ReportAllocs()
	for b.Loop() {
		if k, err := keyFromMetadata(ctx); err != nil || k != "gw-test-key-0123456789" {
			b.Fatal(k, err)
		}
	}
}
