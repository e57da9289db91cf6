package quotagrpc

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/auth"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/quota"
)

// EstimateEmbedTokens is what an Embed call reserves: a token per 4 bytes
// of each input, rounded up. Embeddings have no output; the reservation
// is reconciled with the provider's count after the call.
func EstimateEmbedTokens(inputs []string) int64 {
	var n int64
	for _, in := range inputs {
		n += int64(len(in)+3) / 4
	}
	return n
}

// reserveEmbed reserves what an Embed call may use, or refuses it. A
// route's budget fallback variant does not apply: embedding routes have
// none.
func (q *interceptor) reserveEmbed(ctx context.Context, req *gatewayv1.EmbedRequest) (_ *Grant, err error) {
	ctx, span := tracer.Start(ctx, spanQuota)
	defer func() { endSpan(span, err) }()
	client := auth.Anonymous()
	if c, ok := auth.FromContext(ctx); ok {
		client = c
	}
	res, err := q.limiter.Reserve(ctx, quota.Request{
		Client: client.QuotaGroup, ClientName: client.Name,
		User: req.GetCaller().GetSubject(), Route: req.GetRoute(),
		EstimatedTokens: EstimateEmbedTokens(req.GetInputs()),
	})
	var ex *quota.ExceededError
	switch {
	case errors.As(err, &ex):
		_ = grpc.SetHeader(ctx, refusalHeaders(ex))
		return nil, gwerr.Err(err)
	case err != nil:
		return nil, gwerr.Err(&gwerr.StoreError{Store: "quota", Err: err})
	}
	if md := remainingHeaders(res.Remaining()); md != nil {
		_ = grpc.SetHeader(ctx, md)
	}
	return &Grant{Reservation: res}, nil
}
