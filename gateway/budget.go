package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/telemetry"
)

// quotaObserver logs and counts what the limiter sees, and posts budget
// events to the operator's webhook. Counter keys name users, so they go
// to logs and the webhook only, never to metric labels.
type quotaObserver struct {
	log     *slog.Logger
	metrics *telemetry.Metrics
	webhook string
	client  *http.Client
}

// budgetEvent is the JSON body posted to the budget webhook.
type budgetEvent struct {
	Event     string    `json:"event"` // "budget_warning" (80%) or "budget_exhausted" (100%)
	Limit     string    `json:"limit"`
	Kind      string    `json:"kind"`
	Counter   string    `json:"counter"`
	Period    time.Time `json:"period"`
	Threshold float64   `json:"threshold"`
	// The amounts in dollars, and exactly in nano-dollars: the quota store
	// adds costs up as floats, off by far less than a nano-dollar, so the
	// amounts are rounded to the nano-dollar they stand for.
	SpentUSD      float64 `json:"spent_usd"`
	BudgetUSD     float64 `json:"budget_usd"`
	SpentNanoUSD  int64   `json:"spent_nano_usd"`
	BudgetNanoUSD int64   `json:"budget_nano_usd"`
}

// post sends ev to the webhook in the background, bounded by a timeout;
// a failure is logged, never felt by the request that crossed the budget.
func (o quotaObserver) post(ev budgetEvent) {
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.webhook, bytes.NewReader(body))
		if err != nil {
			o.log.Warn("budget webhook failed", "error", err.Error())
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := o.client.Do(req)
		if err != nil {
			o.log.Warn("budget webhook failed", "error", err.Error())
			return
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			o.log.Warn("budget webhook refused the event", "status", resp.StatusCode)
		}
	}()
}

// Rejected implements quota.Observer.
func (o quotaObserver) Rejected(_ quota.Request, err *quota.ExceededError) {
	if o.metrics != nil {
		o.metrics.QuotaRejected(err.Limit, err.Kind.String())
	}
}

// BudgetCrossed implements quota.Observer.
func (o quotaObserver) BudgetCrossed(ev quota.BudgetEvent) {
	if o.metrics != nil {
		o.metrics.BudgetCrossed(ev.Limit, ev.Kind.String(), ev.Threshold)
	}
	o.log.Warn("budget threshold crossed", "limit", ev.Limit, "kind", ev.Kind.String(), "counter", ev.Key,
		"threshold", ev.Threshold, "spent_usd", ev.Spent, "budget_usd", ev.Budget)
	if o.webhook != "" {
		name := "budget_warning"
		if ev.Threshold >= quota.BudgetExhausted {
			name = "budget_exhausted"
		}
		o.post(budgetEvent{Event: name, Limit: ev.Limit, Kind: ev.Kind.String(), Counter: ev.Key,
			Period: ev.Period, Threshold: ev.Threshold,
			SpentUSD: float64(costNanos(ev.Spent)) / config.NanosPerUSD, SpentNanoUSD: costNanos(ev.Spent),
			BudgetUSD: float64(costNanos(ev.Budget)) / config.NanosPerUSD, BudgetNanoUSD: costNanos(ev.Budget)})
	}
}

// StoreError implements quota.Observer.
func (o quotaObserver) StoreError(err error, fellBack bool) {
	if o.metrics != nil {
		o.metrics.QuotaStoreError(fellBack)
	}
	o.log.Warn("quota store failed", "error", err.Error(), "fell_back_to_memory", fellBack)
}

var _ quota.Observer = quotaObserver{}
