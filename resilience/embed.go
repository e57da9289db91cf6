package resilience

import (
	"context"
	"errors"
	"time"

	"github.com/failsafe-go/failsafe-go"

	"github.com/careerpath/llmgateway/providers"
)

// Embed runs the chain for embeddings: r.Embed to the primary, then to
// each backup in order, each under its provider's guard (retry, bulkhead,
// breaker, attempt timeout), bounded by the chain's timeout. There is no
// stale or degraded step: vectors are never made up. Like a completion, a
// failure another provider cannot fix (a bad request) is returned at once.
func (c *Chain) Embed(ctx context.Context, r *Request) (ans *Answer, err error) {
	if r.Embed == nil {
		return nil, errors.New("resilience: Embed without an embeddings request")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, span := c.startChain(ctx, false)
	defer func() { endChain(span, ans, err) }()
	for i, t := range c.targets {
		step := StepPrimary
		if i > 0 {
			step = StepBackup
			c.obs.Fallback(c.route, StepBackup)
		}
		ans, err = c.guards[i].embed(ctx, r, t, step)
		if err == nil || !failoverable(ctx, err) {
			break
		}
	}
	if err == nil && (ans == nil || ans.Embedding == nil) {
		err = errors.New("resilience: chain produced no embeddings")
	}
	if err != nil {
		return c.result(ctx, nil, err)
	}
	return ans, nil
}

// embed calls the provider for embeddings under the guard's policies.
func (g *Guard) embed(ctx context.Context, r *Request, t Target, step Step) (*Answer, error) {
	start := time.Now()
	e, ok := providers.EmbedderOf(g.provider)
	if !ok {
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: g.name,
			Message: "provider " + g.name + " has no embeddings API"}
	}
	if err := g.cooledDown(ctx, r, t, step); err != nil {
		return nil, err
	}
	ans, err := g.unary.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[*Answer]) (_ *Answer, err error) {
		attemptStart := time.Now()
		req := *r.Embed
		req.Model = t.Model
		actx, span := startAttempt(exec.Context(), t, step)
		resp, err := e.Embed(actx, &req)
		defer func() {
			endAttempt(span, nil, err)
			g.observe(t, time.Since(attemptStart), err)
		}()
		if err != nil {
			if exec.Context().Err() != nil && ctx.Err() == nil {
				err = &providers.Error{Kind: providers.KindTimeout, Provider: g.name,
					Message: "attempt timed out after " + g.attemptTimeout.String(), Err: err}
			}
			g.hold(err)
			err = g.fitRetryAfter(ctx, err)
			r.record(Attempt{Target: t, Step: step, Kind: kindOf(err), Err: err, Duration: time.Since(attemptStart)})
			return nil, err
		}
		return &Answer{Embedding: resp, Step: step, Target: t}, nil
	})
	return ans, g.blocked(r, t, step, start, err)
}
