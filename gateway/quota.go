package gateway

import (
	"context"
	"log/slog"
)

// quotaSettler settles a call's reservation with what its answer used and
// cost; a call that failed is released by the quota link.
type quotaSettler struct{ log *slog.Logger }

// Outcome implements [Subscriber].
func (q quotaSettler) Outcome(ctx context.Context, o *Outcome) {
	if o.grant == nil || o.Err != nil {
		return
	}
	tokens := o.Usage.InputTokens + o.Usage.OutputTokens
	if err := o.grant.Reservation.Commit(context.WithoutCancel(ctx), tokens, o.Cost.USD()); err != nil {
		q.log.WarnContext(ctx, "quota reconciliation failed", "error", err.Error())
	}
}
