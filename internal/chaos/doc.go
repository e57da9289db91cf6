// Package chaos holds the gateway's chaos soak test; it has no library
// code.
//
// The test builds bin/gateway and bin/llmsim, starts one real
// redis-server, two simulator processes (the route's primary and backup
// providers) and three gateway replicas sharing the Redis, drives them with
// concurrent gRPC (unary and streaming) and REST clients, and meanwhile
// injects faults: the primary provider flapping and hanging, Redis killed
// and restarted on the same port, one replica's configuration replaced by
// an invalid one and then a valid one, and one replica sent SIGTERM while
// streams are in flight. It then checks that every request ended within its
// deadline with an answer or a clear error status, that the requests the
// clients counted are the requests the replicas logged, that the stopped
// replica drained and exited 0, and that the surviving replicas' memory and
// goroutines stayed flat, and prints the figures.
//
// It runs for -chaos.duration (90s by default) and is skipped by
// go test -short; `make chaos` runs it on its own:
//
//	go test -race -v -timeout 30m -run TestChaosSoak ./internal/chaos -chaos.duration=10m
package chaos
