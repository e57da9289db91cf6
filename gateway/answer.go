package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
	ledger "github.com/careerpath/llmgateway/usage"
)

// cachedResponse is the response for an answer served from the cache (or
// shared with an identical request): a fresh response id, zero cost, and
// as saving what it would have cost from the provider routing chose.
func cachedResponse(o *Outcome, resp *providers.Response, a accounting) *gatewayv1.CompleteResponse {
	hit := *resp
	hit.ID = ""
	saved := ledger.Nanos(o.Decision.Price.CostNanos(hit.Usage))
	o.fill(&hit, a, saved, nil, 0)
	return completeResponse(o, &hit)
}

// completeResponse is the account of an answer: its text and usage, who
// answered it, what it cost, how it was produced and how long it took,
// as o says. A stream's final message carries the same (see
// finalMessage). It fills in o's response id.
func completeResponse(o *Outcome, resp *providers.Response) *gatewayv1.CompleteResponse {
	o.ResponseID = responseID(resp.ID)
	o.Overhead = time.Since(o.start) - o.Upstream
	return &gatewayv1.CompleteResponse{
		Id:              o.ResponseID,
		Text:            resp.Text,
		FinishReason:    protoconv.FinishReason(resp.FinishReason),
		Usage:           protoconv.Usage(o.Usage),
		Provider:        o.Provider,
		Model:           o.Model,
		Route:           o.Decision.Route,
		Variant:         o.Decision.Variant,
		CostUsd:         o.Cost.USD(),
		CostNanoUsd:     int64(o.Cost),
		UpstreamLatency: durationpb.New(o.Upstream),
		GatewayOverhead: durationpb.New(o.Overhead),
		ServedFrom:      o.ServedFrom,
		Step:            o.Step,
		FailedAttempts:  failedAttempts(o.Attempts),
		Parts:           protoconv.Parts(resp.PartList()),
		SchemaCheck:     o.schemaCheck(),
	}
}

// schemaCheck is the response's schema_check: not applicable unless the
// answer was checked, or should have been.
func (o *Outcome) schemaCheck() gatewayv1.SchemaCheck {
	if o.SchemaCheck == gatewayv1.SchemaCheck_SCHEMA_CHECK_UNSPECIFIED {
		return gatewayv1.SchemaCheck_SCHEMA_CHECK_NOT_APPLICABLE
	}
	return o.SchemaCheck
}

// schemaCheck is the contract's word for the chain's verdict on ans.
func schemaCheck(ans *resilience.Answer) gatewayv1.SchemaCheck {
	switch ans.SchemaCheck() {
	case resilience.SchemaChecked:
		return gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED
	case resilience.SchemaUnchecked:
		return gatewayv1.SchemaCheck_SCHEMA_CHECK_UNCHECKED
	}
	return gatewayv1.SchemaCheck_SCHEMA_CHECK_NOT_APPLICABLE
}

// hitSchemaCheck is the schema_check of an answer found in the cache (or
// shared with an identical request): only checked answers are stored.
func hitSchemaCheck(req *providers.Request) gatewayv1.SchemaCheck {
	if resilience.NeedsSchemaCheck(req) {
		return gatewayv1.SchemaCheck_SCHEMA_CHECK_CHECKED
	}
	return gatewayv1.SchemaCheck_SCHEMA_CHECK_NOT_APPLICABLE
}

// finalMessage is a stream's last message: the same account as a unary
// response, without the text (already sent in deltas), plus the time to
// the first token.
func finalMessage(c *gatewayv1.CompleteResponse, ttft time.Duration) *gatewayv1.StreamResponse {
	return &gatewayv1.StreamResponse{
		Done:             true,
		Id:               c.Id,
		FinishReason:     c.FinishReason,
		Usage:            c.Usage,
		Provider:         c.Provider,
		Model:            c.Model,
		Route:            c.Route,
		Variant:          c.Variant,
		CostUsd:          c.CostUsd,
		CostNanoUsd:      c.CostNanoUsd,
		GatewayOverhead:  c.GatewayOverhead,
		UpstreamLatency:  c.UpstreamLatency,
		ServedFrom:       c.ServedFrom,
		TimeToFirstToken: durationpb.New(ttft),
		Step:             c.Step,
		FailedAttempts:   c.FailedAttempts,
		SchemaCheck:      c.SchemaCheck,
	}
}

// accounting is who answered and what it cost.
type accounting struct {
	provider, model string
	costNanos       int64
	servedFrom      gatewayv1.ServedFrom
	step            gatewayv1.FailoverStep
}

// account attributes an answer: the provider and model that produced it,
// its cost at that model's price, and the failover step.
func account(rt *Runtime, d *routing.Decision, ans *resilience.Answer, u providers.Usage) accounting {
	a := accounting{servedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH, step: failoverStep(ans.Step)}
	switch ans.Step {
	case resilience.StepStaleCache:
		a.servedFrom = gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE
		return a // nothing is known of its origin, and it costs nothing now
	case resilience.StepDegraded:
		a.servedFrom = gatewayv1.ServedFrom_SERVED_FROM_DEGRADED
		return a
	}
	a.provider, a.model = ans.Target.Provider, ans.Target.Model
	price := d.Price
	if a.provider != d.Provider.Name() || a.model != d.Model {
		if td, err := rt.Router.Direct(a.provider, a.model); err == nil {
			price = td.Price
		}
	}
	a.costNanos = price.CostNanos(u)
	return a
}

func failedAttempts(as []resilience.Attempt) []*gatewayv1.FailedAttempt {
	if len(as) == 0 {
		return nil
	}
	out := make([]*gatewayv1.FailedAttempt, len(as))
	for i, a := range as {
		out[i] = &gatewayv1.FailedAttempt{
			Provider:  a.Target.Provider,
			Model:     a.Target.Model,
			Step:      failoverStep(a.Step),
			ErrorKind: a.Kind.String(),
			Duration:  durationpb.New(a.Duration),
		}
	}
	return out
}

func failoverStep(s resilience.Step) gatewayv1.FailoverStep {
	switch s {
	case resilience.StepBackup:
		return gatewayv1.FailoverStep_FAILOVER_STEP_BACKUP
	case resilience.StepStaleCache:
		return gatewayv1.FailoverStep_FAILOVER_STEP_STALE_CACHE
	case resilience.StepDegraded:
		return gatewayv1.FailoverStep_FAILOVER_STEP_DEGRADED
	}
	return gatewayv1.FailoverStep_FAILOVER_STEP_PRIMARY
}

// modelName prefers the model the provider reports (it may be a dated
// snapshot of the alias we asked for).
func modelName(asked, reported string) string {
	if reported != "" {
		return reported
	}
	return asked
}

// responseID is the provider's id, or a fresh gateway id when it sent none.
func responseID(upstream string) string {
	if upstream != "" {
		return upstream
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "gw-" + hex.EncodeToString(b[:])
}
