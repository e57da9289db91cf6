package edge

import (
	"context"
	"errors"
	"sync"
	"time"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"google.golang.org/grpc"

	"github.com/careerpath/llmgateway/gwerr"
)

// finalWindow is how long the calls ended at the end of the grace period
// have to send their status (a REST stream its error event) before the
// connections are closed.
const finalWindow = time.Second

// callStopper ends every call in flight at once, each with a clear
// status, rather than leaving the callers with cut connections: a gRPC
// caller would see a transport error, and a REST stream would just stop,
// indistinguishable from a truncated answer.
type callStopper struct {
	mu      sync.Mutex
	calls   map[*call]struct{}
	stopped bool
}

// call is one call in flight.
type call struct{ cancel context.CancelCauseFunc }

func newCallStopper() *callStopper { return &callStopper{calls: map[*call]struct{}{}} }

// stop ends the calls in flight, and any call that starts later.
func (c *callStopper) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for k := range c.calls {
		k.cancel(gwerr.ErrShuttingDown)
	}
}

// bind returns a context for one call that is cancelled, with cause
// gwerr.ErrShuttingDown, when the stopper stops.
func (c *callStopper) bind(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	k := &call{cancel: cancel}
	c.mu.Lock()
	if c.stopped {
		cancel(gwerr.ErrShuttingDown)
	} else {
		c.calls[k] = struct{}{}
	}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		delete(c.calls, k)
		c.mu.Unlock()
		cancel(nil)
	}
}

// ended reports whether the call's context was ended by the stopper.
func ended(ctx context.Context) bool { return errors.Is(context.Cause(ctx), gwerr.ErrShuttingDown) }

func (c *callStopper) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, done := c.bind(ctx)
	defer done()
	resp, err := h(ctx, req)
	if err != nil && ended(ctx) {
		return nil, gwerr.Err(gwerr.ErrShuttingDown)
	}
	return resp, err
}

func (c *callStopper) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, done := c.bind(ss.Context())
	defer done()
	w := middleware.WrapServerStream(ss)
	w.WrappedContext = ctx
	err := h(srv, w)
	if err != nil && ended(ctx) {
		return gwerr.Err(gwerr.ErrShuttingDown)
	}
	return err
}
