package gateway

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota/quotagrpc"
	"github.com/careerpath/llmgateway/resilience"
	"github.com/careerpath/llmgateway/routing"
)

// Embed implements gatewayv1.LLMGatewayServer: the inputs' vectors from
// the embedding model routing chose (a route's variant, sticky per
// subject, or a model override), under the provider's retry, breaker,
// bulkhead and timeout, failing over to the route's backups. The call's
// [Outcome] goes to the same fan-out as a completion's: the quota settles
// its tokens and cost, the ledger records them, the route's experiment
// counts it. A route or model that is not an embedding model is refused,
// named, before anything is sent. Embeddings are never cached, stale or
// degraded.
func (s *Service) Embed(ctx context.Context, req *gatewayv1.EmbedRequest) (_ *gatewayv1.EmbedResponse, err error) {
	o := &Outcome{Embed: req, Client: clientName(ctx), grant: quotagrpc.FromContext(ctx), start: time.Now()}
	defer func() {
		o.Err, o.Latency = err, time.Since(o.start)
		s.publish(ctx, o)
	}()
	rt := s.acquire()
	defer rt.release()
	d, err := s.decideEmbed(ctx, rt, o)
	if err != nil {
		return nil, err
	}
	r := &resilience.Request{Embed: &providers.EmbedRequest{Model: d.Model, Inputs: req.GetInputs(),
		Dimensions: int(req.GetDimensions())}}
	upStart := time.Now()
	ans, err := rt.chain(d).Embed(ctx, r)
	upstream := time.Since(upStart)
	if err != nil {
		return nil, err
	}
	resp := ans.Embedding
	if len(resp.Vectors) != len(req.GetInputs()) {
		return nil, &providers.Error{Kind: providers.KindMalformed, Provider: ans.Target.Provider,
			Message: fmt.Sprintf("%d embeddings for %d inputs", len(resp.Vectors), len(req.GetInputs()))}
	}
	a := account(rt, d, ans, resp.Usage)
	o.fill(&providers.Response{Model: resp.Model, Usage: resp.Usage}, a, 0, r.Attempts(), upstream)
	o.Overhead = time.Since(o.start) - upstream
	out := &gatewayv1.EmbedResponse{
		Embeddings:      make([]*gatewayv1.Embedding, len(resp.Vectors)),
		Provider:        o.Provider,
		Model:           o.Model,
		Route:           d.Route,
		Variant:         d.Variant,
		Usage:           protoconv.Usage(o.Usage),
		CostUsd:         o.Cost.USD(),
		CostNanoUsd:     int64(o.Cost),
		Step:            o.Step,
		FailedAttempts:  failedAttempts(o.Attempts),
		UpstreamLatency: durationpb.New(upstream),
		GatewayOverhead: durationpb.New(o.Overhead),
	}
	for i, v := range resp.Vectors {
		out.Embeddings[i] = &gatewayv1.Embedding{Values: v}
	}
	return out, nil
}

// decideEmbed picks the embedding model o's request goes to: its model
// override, or its route's variant for its subject. A chat model is
// refused by name.
func (s *Service) decideEmbed(ctx context.Context, rt *Runtime, o *Outcome) (d *routing.Decision, err error) {
	_, span := tracer.Start(ctx, spanRouting)
	defer func() {
		if err == nil {
			o.Decision = d
		}
		endRouting(span, d, err)
	}()
	req := o.Embed
	if m := req.GetModel(); m != nil {
		d, err = rt.Router.Direct(m.GetProvider(), m.GetModel())
	} else {
		d, err = rt.Router.Select(routing.Selection{Route: req.GetRoute(), Subject: req.GetCaller().GetSubject()})
	}
	if err != nil {
		return nil, err
	}
	if !d.Embedding {
		return nil, notEmbedding(d, req.GetRoute() != "")
	}
	return d, nil
}

// notEmbedding refuses embeddings from d's chat model.
func notEmbedding(d *routing.Decision, routed bool) error {
	what := "model " + d.Provider.Name() + "/" + d.Model + ", a chat model,"
	if routed {
		what = fmt.Sprintf("route %q answers with the chat model %s/%s, which", d.Route, d.Provider.Name(), d.Model)
	}
	why := ""
	if _, ok := providers.EmbedderOf(d.Provider); !ok {
		why = " (provider " + d.Provider.Name() + " has no embeddings API)"
	}
	return &gwerr.Error{Kind: gwerr.Invalid, Reason: gwerr.ReasonNotEmbeddingModel,
		Message:  what + " does not embed" + why + ": name an embedding route or model (embedding: true in provider_settings.json)",
		Metadata: map[string]string{"provider": d.Provider.Name(), "model": d.Model}}
}

// chatOnly refuses a completion routed to an embedding model.
func chatOnly(d *routing.Decision, err error) (*routing.Decision, error) {
	if err != nil || !d.Embedding {
		return d, err
	}
	what := "model " + d.Provider.Name() + "/" + d.Model
	if d.Route != "" {
		what = fmt.Sprintf("route %q answers with the embedding model %s/%s, which", d.Route, d.Provider.Name(), d.Model)
	} else {
		what += ", an embedding model,"
	}
	return nil, &gwerr.Error{Kind: gwerr.Invalid, Reason: gwerr.ReasonEmbeddingModel,
		Message:  what + " does not chat: use Embed (POST /v1/embed, /v1/embeddings) or name a chat route or model",
		Metadata: map[string]string{"provider": d.Provider.Name(), "model": d.Model}}
}
