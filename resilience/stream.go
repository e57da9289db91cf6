package resilience

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"

	"github.com/careerpath/llmgateway/providers"
)

// errBulkheadWait is the context cause when a stream waited too long for
// a concurrency permit.
var errBulkheadWait = errors.New("concurrency limit reached")

// stream opens a stream under the guard's policies. It returns once the
// first content token has arrived, holding back anything before it, so
// that a failure until then can still be retried or failed over; after
// it, the stream is the caller's.
func (g *Guard) openStream(ctx context.Context, r *Request, t Target, step Step) (*Answer, error) {
	start := time.Now()
	ans, err := g.stream.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[*Answer]) (_ *Answer, err error) {
		attemptStart := time.Now()
		// The span covers opening the stream up to its first token.
		actx, span := startAttempt(exec.Context(), t, step)
		defer func() { endAttempt(span, err) }()
		st, err := g.startStream(actx, r, t)
		if err != nil {
			err = g.fitRetryAfter(ctx, err)
			r.record(Attempt{Target: t, Step: step, Kind: kindOf(err), Err: err, Duration: time.Since(attemptStart)})
			return nil, err
		}
		return &Answer{Stream: st, Step: step, Target: t}, nil
	})
	return ans, g.blocked(r, t, step, start, err)
}

func (g *Guard) startStream(ctx context.Context, r *Request, t Target) (providers.Stream, error) {
	release := func() {}
	if g.bulkhead != nil {
		if err := g.bulkhead.AcquirePermitWithMaxWait(ctx, g.maxWait); err != nil {
			if ctx.Err() != nil {
				return nil, providers.TransportError(ctx, g.name, ctx.Err())
			}
			return nil, &providers.Error{Kind: providers.KindOverloaded, Provider: g.name, Message: errBulkheadWait.Error(), Err: err}
		}
		release = g.bulkhead.ReleasePermit
	}
	actx, cancel := context.WithCancel(ctx)
	s := &guardedStream{guard: g, cancel: cancel, release: release}
	req := *r.Provider
	req.Model = t.Model
	st, err := g.provider.Stream(actx, &req)
	if err != nil {
		s.finish()
		return nil, err
	}
	s.inner = st

	// Wait for the first content token, bounded by its own timeout.
	var timedOut atomic.Bool
	timer := time.AfterFunc(g.firstTokenTimeout, func() { timedOut.Store(true); cancel() })
	for {
		c, err := st.Recv()
		if err != nil {
			timer.Stop()
			_ = s.Close()
			if timedOut.Load() {
				return nil, &providers.Error{Kind: providers.KindTimeout, Provider: g.name,
					Message: "no first token within " + g.firstTokenTimeout.String(), Err: err}
			}
			if errors.Is(err, io.EOF) {
				err = &providers.Error{Kind: providers.KindTruncated, Provider: g.name, Message: "stream ended before its first token"}
			}
			return nil, err
		}
		if c.Delta != "" || c.Done {
			timer.Stop()
			s.first, s.hasFirst = c, true
			break
		}
	}
	if g.idleTimeout > 0 {
		s.idle = g.idleTimeout
		s.timer = time.AfterFunc(time.Hour, func() { s.stalled.Store(true); cancel() })
		s.timer.Stop()
	}
	return s, nil
}

// guardedStream is a provider stream whose first chunk has been read
// ahead. It watches the pace of the rest (the idle timeout), reports
// mid-stream failures to the breaker, and releases the concurrency permit
// and the attempt's context when closed.
type guardedStream struct {
	guard    *Guard
	inner    providers.Stream
	cancel   context.CancelFunc
	release  func()
	first    providers.Chunk
	hasFirst bool
	idle     time.Duration
	timer    *time.Timer
	stalled  atomic.Bool
	once     sync.Once
}

// Recv implements providers.Stream.
func (s *guardedStream) Recv() (providers.Chunk, error) {
	if s.hasFirst {
		s.hasFirst = false
		return s.first, nil
	}
	if s.timer != nil {
		s.timer.Reset(s.idle)
	}
	c, err := s.inner.Recv()
	if s.timer != nil {
		s.timer.Stop()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		if s.stalled.Load() {
			err = &providers.Error{Kind: providers.KindTimeout, Provider: s.guard.name,
				Message: "stream stalled: no token for " + s.idle.String(), Err: err}
		}
		if breakerFailure(err) {
			s.guard.breaker.RecordError(err)
		}
	}
	return c, err
}

// Close implements providers.Stream.
func (s *guardedStream) Close() error {
	var err error
	s.once.Do(func() {
		if s.timer != nil {
			s.timer.Stop()
		}
		if s.inner != nil {
			err = s.inner.Close()
		}
		s.finish()
	})
	return err
}

func (s *guardedStream) finish() {
	s.cancel()
	s.release()
}

var _ providers.Stream = (*guardedStream)(nil)
