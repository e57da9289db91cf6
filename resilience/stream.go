package resilience

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/careerpath/llmgateway/providers"
)

// openStream opens a stream under the guard's policies. It returns once
// the first content token has arrived, holding back anything before it, so
// that a failure until then can still be retried or failed over; after
// it, the stream is the caller's.
//
// The concurrency permit is taken once, before any attempt, and held by
// the stream until it closes. The circuit breaker is driven by hand: one
// stream is one observation, recorded when the stream fails (to open, or
// mid-way) or completes, never at its first token.
func (g *Guard) openStream(ctx context.Context, r *Request, t Target, step Step) (*Answer, error) {
	start := time.Now()
	if err := g.cannotHonour(r, t, step); err != nil {
		return nil, err
	}
	if err := g.cooledDown(ctx, r, t, step); err != nil {
		return nil, err
	}
	release := func() {}
	if g.bulkhead != nil {
		if err := g.bulkhead.AcquirePermitWithMaxWait(ctx, g.maxWait); err != nil {
			if ctx.Err() != nil {
				return nil, providers.TransportError(ctx, g.name, ctx.Err())
			}
			return nil, g.blocked(r, t, step, start, bulkhead.ErrFull)
		}
		var once sync.Once
		release = func() { once.Do(g.bulkhead.ReleasePermit) }
	}
	ans, err := g.stream.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[*Answer]) (_ *Answer, err error) {
		if !g.breaker.TryAcquirePermit() {
			return nil, circuitbreaker.ErrOpen
		}
		attemptStart := time.Now()
		// The span covers opening the stream up to its first token.
		actx, span := startAttempt(exec.Context(), t, step)
		defer func() { endAttempt(span, nil, err) }()
		st, err := g.startStream(actx, r, t, release)
		if err != nil {
			g.observe(t, time.Since(attemptStart), err)
			if ctx.Err() == nil {
				g.breaker.RecordError(err)
			}
			g.hold(err)
			err = g.fitRetryAfter(ctx, err)
			r.record(Attempt{Target: t, Step: step, Kind: kindOf(err), Err: err, Duration: time.Since(attemptStart)})
			return nil, err
		}
		st.onEnd = func(err error) { g.observe(t, time.Since(attemptStart), err) }
		var verdict *schemaVerdict
		if r.gate != nil && needsCheck(r.Provider) {
			st.checker = newStreamChecker(r.gate, g.name, r.Provider)
			st.checker.add(st.first)
			verdict = st.checker.verdict
			if st.first.Done {
				// The whole answer came before anything was sent: a
				// mismatch is a failed attempt like any other.
				if cerr := st.checker.done(); cerr != nil {
					st.abandon()
					g.breaker.RecordSuccess()
					g.observe(t, time.Since(attemptStart), cerr)
					err = gateMismatch(r.gate.policy, cerr)
					r.record(Attempt{Target: t, Step: step, Kind: kindOf(err), Err: err, Duration: time.Since(attemptStart)})
					return nil, err
				}
			}
		}
		r.opened(st)
		return &Answer{Stream: st, Step: step, Target: t, schema: verdict}, nil
	})
	if err != nil {
		release()
	}
	return ans, g.blocked(r, t, step, start, err)
}

// startStream makes one attempt at opening a stream and waiting for its
// first token. release gives back the concurrency permit; the returned
// stream calls it when closed.
func (g *Guard) startStream(ctx context.Context, r *Request, t Target, release func()) (*guardedStream, error) {
	actx, cancel := context.WithCancel(ctx)
	s := &guardedStream{guard: g, cancel: cancel, release: release}
	// The first-token timeout covers waiting for the response headers too.
	var timedOut atomic.Bool
	timer := time.AfterFunc(g.firstTokenTimeout, func() { timedOut.Store(true); cancel() })
	fail := func(err error) (*guardedStream, error) {
		timer.Stop()
		s.abandon()
		if timedOut.Load() {
			return nil, &providers.Error{Kind: providers.KindTimeout, Provider: g.name,
				Message: "no first token within " + g.firstTokenTimeout.String(), Err: err}
		}
		if errors.Is(err, io.EOF) {
			err = &providers.Error{Kind: providers.KindTruncated, Provider: g.name, Message: "stream ended before its first token"}
		}
		return nil, err
	}
	req := *r.Provider
	req.Model = t.Model
	st, err := g.provider.Stream(actx, &req)
	if err != nil {
		return fail(err)
	}
	s.inner = st
	for {
		c, err := st.Recv()
		if err != nil {
			return fail(err)
		}
		// A tool call or thinking is a first token as much as text: an
		// answer may begin with either, and the chunk must not be lost.
		if c.Delta != "" || c.ToolCall != nil || c.Thinking != nil || c.Done {
			if !timer.Stop() {
				// The timeout fired as the token arrived: the attempt's
				// context is canceled, so the stream cannot go on.
				return fail(context.Canceled)
			}
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
	// recorded is set once the stream's outcome went to the breaker.
	recorded atomic.Bool
	// onEnd, when set, hears once how the stream ended.
	onEnd func(error)
	// checker, when set, checks the answer against its schemas at its
	// last chunk.
	checker *streamChecker
	ended   atomic.Bool
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
	if err == nil && s.checker != nil {
		s.checker.add(c)
		if c.Done {
			if cerr := s.checker.done(); cerr != nil {
				// The provider answered: its health is not in question.
				s.record(nil)
				s.end(cerr)
				return providers.Chunk{}, cerr
			}
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		s.end(&providers.Error{Kind: providers.KindTruncated, Provider: s.guard.name, Message: "stream ended without its final event"})
	case err != nil:
		if s.stalled.Load() {
			err = &providers.Error{Kind: providers.KindTimeout, Provider: s.guard.name,
				Message: "stream stalled: no token for " + s.idle.String(), Err: err}
		}
		if breakerFailure(err) {
			s.record(err)
		}
		s.end(err)
	case c.Done:
		s.record(nil)
		s.end(nil)
	}
	return c, err
}

// end reports how the stream ended, once.
func (s *guardedStream) end(err error) {
	if s.onEnd != nil && s.ended.CompareAndSwap(false, true) {
		s.onEnd(err)
	}
}

// record gives the stream's outcome to the breaker, once.
func (s *guardedStream) record(err error) {
	if !s.recorded.CompareAndSwap(false, true) {
		return
	}
	if err != nil {
		s.guard.breaker.RecordError(err)
	} else {
		s.guard.breaker.RecordSuccess()
	}
}

// Close implements providers.Stream. A stream closed before it completed
// or failed (the caller left) counts as a success: the provider was
// answering.
func (s *guardedStream) Close() error {
	s.record(nil)
	s.end(nil)
	return s.close()
}

// abandon closes a stream that failed before its first token; its
// outcome is recorded by the attempt, and its permit stays with the
// attempts that may follow.
func (s *guardedStream) abandon() {
	s.recorded.Store(true)
	s.once.Do(func() {
		if s.inner != nil {
			_ = s.inner.Close()
		}
		s.cancel()
	})
}

func (s *guardedStream) close() error {
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
