package providers

import (
	"context"
	"time"
)

// AttemptContext bounds an attempt of at most d (0: no bound of its own)
// under ctx. When ctx already ends within d it is returned as it is: a
// call through the gateway's resilience policies carries the attempt's
// deadline already (the same provider timeout), and a second timer would
// never fire first. The caller must call cancel.
func AttemptContext(ctx context.Context, d time.Duration) (actx context.Context, cancel context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
