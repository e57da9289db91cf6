package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/internal/redistest"
)

// TestUsageLedgerInRedis: with -redis-addrs the gateway keeps its usage
// ledger in Redis, and GET /v1/usage reports what the answers cost.
func TestUsageLedgerInRedis(t *testing.T) {
	addr := redistest.Start(t)
	dir := writeConfig(t, map[string]string{
		"provider_settings.json": `{"providers": {"openai": {"kind": "sim"}},
		"models": [{"name": "m", "provider": "openai", "price": {"input_per_mtok": 1.25, "output_per_mtok": 10}}]}`,
		"ab_test_config.json": `{"routes": {"r": {"variants": [{"name": "a", "provider": "openai", "model": "m", "weight": 1}]}}}`,
	})
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config-dir", dir, "-log-level", "error", "-redis-addrs", addr,
			"-grpc-addr", freeAddr(t), "-http-addr", httpAddr, "-admin-addr", freeAddr(t)}, func(string) string { return "" })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	post := func() (float64, error) {
		resp, err := http.Post("http://"+httpAddr+"/v1/complete", "application/json",
			strings.NewReader(`{"route":"r","messages":[{"role":"ROLE_USER","content":"What does a data engineer do?"}]}`))
		if err != nil {
			return 0, err
		}
		defer func() { _ = resp.Body.Close() }()
		var body struct {
			CostUSD float64 `json:"cost_usd"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			return 0, err
		}
		return body.CostUSD, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	var spent float64
	for {
		cost, err := post()
		if err == nil && cost > 0 {
			spent += cost
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 3 {
		cost, err := post()
		if err != nil {
			t.Fatal(err)
		}
		spent += cost
	}
	resp, err := http.Get("http://" + httpAddr + "/v1/usage?granularity=GRANULARITY_HOUR")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var report struct {
		Totals struct {
			Requests string  `json:"requests"`
			CostUSD  float64 `json:"cost_usd"`
		} `json:"totals"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		t.Fatal(err)
	}
	if report.Totals.Requests != "4" || math.Abs(report.Totals.CostUSD-spent) > 1e-8 {
		t.Errorf("usage %+v, the answers cost $%.9f", report.Totals, spent)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = c.Close() }()
	keys, err := c.Keys(context.Background(), "llmgw:usage:*").Result()
	if err != nil || len(keys) != 3 {
		t.Errorf("ledger keys in Redis: %v (%v), want an hour, a day and a month", keys, err)
	}
}
