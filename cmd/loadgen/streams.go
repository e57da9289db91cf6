package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// Memory is the gateway's resident memory with many streams open at once.
type Memory struct {
	Streams     int     `json:"streams"`
	Opened      int     `json:"opened"`
	Failed      int     `json:"failed"`
	FirstError  string  `json:"first_error,omitempty"`
	Conns       int     `json:"grpc_connections"`
	OpenSeconds float64 `json:"open_seconds"`
	// BaselineRSS is VmRSS before the streams, after a short warm-up;
	// PeakRSS the largest VmRSS seen while all were open; HWM the
	// kernel's VmHWM then. Bytes.
	BaselineRSS int64 `json:"baseline_rss_bytes"`
	PeakRSS     int64 `json:"peak_rss_bytes"`
	HWM         int64 `json:"hwm_bytes"`
	// PerStream is (PeakRSS − BaselineRSS) / Opened, bytes.
	PerStream float64 `json:"per_stream_bytes"`
}

// openStreams holds n streams open through the gateway at pid, spread
// over conns gRPC connections, each having received its first token from
// a simulator that then pauses for a long time, and measures the
// gateway's RSS before and while they are open.
func openStreams(ctx context.Context, g *gatewayProc, key string, n, conns int) (Memory, error) {
	mem := Memory{Streams: n, Conns: conns}
	clients := make([]gatewayv1.LLMGatewayClient, conns)
	for i := range conns {
		cc, err := dialGateway(g.grpcAddr)
		if err != nil {
			return mem, err
		}
		defer func() { _ = cc.Close() }()
		clients[i] = gatewayv1.NewLLMGatewayClient(cc)
	}
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+key))

	// Warm up: the first calls build connection pools, the tokenizer's
	// tables and the like; they are not per-stream costs.
	for i := range 20 {
		if _, err := clients[i%conns].Complete(ctx, memRequest(-1-i)); err != nil {
			return mem, fmt.Errorf("warm-up call: %w", err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	var err error
	if mem.BaselineRSS, _, err = rss(g.pid()); err != nil {
		return mem, err
	}

	hold, release := context.WithCancel(ctx)
	defer release()
	var (
		opened, failed atomic.Int64
		firstErr       atomic.Value
		all            sync.WaitGroup
		ready          = make(chan struct{}, n)
		gate           = make(chan struct{}, 256) // streams being opened at once
	)
	start := time.Now()
	for i := range n {
		all.Go(func() {
			gate <- struct{}{}
			s, err := clients[i%conns].Stream(hold, memRequest(i), grpc.WaitForReady(true))
			if err == nil {
				var m *gatewayv1.StreamResponse
				m, err = s.Recv() // the first token: the stream is open end to end
				if err == nil && m.GetDelta() == "" {
					err = fmt.Errorf("the first message carries no text: %v", m)
				}
			}
			<-gate
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				ready <- struct{}{}
				return
			}
			opened.Add(1)
			ready <- struct{}{}
			for {
				if _, err := s.Recv(); err != nil {
					return // released
				}
			}
		})
	}
	timeout := time.After(2 * time.Minute)
	for range n {
		select {
		case <-ready:
		case <-timeout:
			release()
			all.Wait()
			return mem, fmt.Errorf("only %d of %d streams opened within 2 minutes (%d failed)", opened.Load(), n, failed.Load())
		}
	}
	mem.OpenSeconds = time.Since(start).Seconds()
	mem.Opened, mem.Failed = int(opened.Load()), int(failed.Load())
	if e, ok := firstErr.Load().(string); ok {
		mem.FirstError = e
	}
	// The gateway settles (the last streams' first tokens, its GC) for a
	// moment; the largest reading counts.
	for range 10 {
		cur, hwm, err := rss(g.pid())
		if err != nil {
			release()
			all.Wait()
			return mem, err
		}
		mem.PeakRSS, mem.HWM = max(mem.PeakRSS, cur), max(mem.HWM, hwm)
		time.Sleep(100 * time.Millisecond)
	}
	release()
	all.Wait()
	if mem.Opened > 0 {
		mem.PerStream = float64(mem.PeakRSS-mem.BaselineRSS) / float64(mem.Opened)
	}
	return mem, nil
}

// memRequest is stream i's request: a different message for each, so
// that none is a cache hit or joins another's upstream call.
func memRequest(i int) *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route:    benchRoute,
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: question + "mem-" + strconv.Itoa(i)}},
		Caller:   &gatewayv1.Caller{Subject: "bench-mem-" + strconv.Itoa(i%64)},
	}
}
