package compat

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// events writes one API's stream events into a buffer.
type events interface {
	// start opens the stream, before the first text.
	start(b []byte) []byte
	// message is a stream message's pieces: its text, tool-call and (on
	// an API that has them) thinking deltas.
	message(b []byte, m *gatewayv1.StreamResponse) []byte
	// finish closes a complete stream with the final message's account.
	finish(b []byte, final *gatewayv1.StreamResponse) []byte
	// fail ends a stream that already started with an error event.
	fail(b []byte, e *apiError) []byte
}

// byteBuffers pools the buffers responses are written into.
type byteBuffers struct{ p sync.Pool }

func (bp *byteBuffers) get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4<<10)
	return &b
}

func (bp *byteBuffers) put(b *[]byte) {
	if cap(*b) <= 64<<10 { // keep the pool from holding huge answers
		*b = (*b)[:0]
		bp.p.Put(b)
	}
}

var bufPool byteBuffers

// errNoFinal is a gRPC stream that ended without its final message.
var errNoFinal = &gwerr.Error{Kind: gwerr.Unavailable, Message: "the answer stream ended before it was complete"}

// stream answers a streaming request. Nothing is written until the first
// message of the gRPC stream arrives (the gateway holds a stream back
// until its first token, failing over meanwhile), so that a failure before
// it is a plain HTTP error with its status; a failure after it ends the
// event stream with the API's error event. The gateway's account of the
// answer (route, variant, provider, cost …) follows as HTTP trailers.
func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, d dialect, req *gatewayv1.CompleteRequest, opts streamOptions) {
	st, err := h.client.Stream(ctx, req)
	if err != nil {
		writeError(w, d, fromError(err, nil))
		return
	}
	msg, err := st.Recv()
	hdr, _ := st.Header()
	copyRateLimitHeaders(w.Header(), hdr)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errNoFinal
		}
		writeError(w, d, fromError(err, hdr))
		return
	}
	wh := w.Header()
	wh.Set("Content-Type", "text/event-stream; charset=utf-8")
	wh.Set("Cache-Control", "no-cache")
	wh.Set("X-Accel-Buffering", "no")
	wh.Set("Trailer", gatewayTrailers)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	var ev events
	switch d {
	case openAI:
		ev = newChatChunks(opts)
	case responses:
		ev = newResponseEvents(opts)
	default:
		ev = newMessageEvents(opts)
	}
	buf := bufPool.get()
	defer bufPool.put(buf)
	b := ev.start((*buf)[:0])
	for {
		b = ev.message(b, msg)
		if msg.Done {
			b = ev.finish(b, msg)
			setGatewayHeaders(wh, msg.GetRoute(), msg.GetVariant(), msg.GetProvider(), msg.GetModel(),
				msg.GetStep(), msg.GetServedFrom(), msg.GetCostUsd(), msg.GetId())
		}
		if _, err := w.Write(b); err != nil {
			*buf = b
			return // the client has gone; cancelling ctx ends the call
		}
		_ = rc.Flush()
		if msg.Done {
			*buf = b
			return
		}
		b = b[:0]
		if msg, err = st.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				err = errNoFinal
			}
			b = ev.fail(b, fromError(err, nil))
			_, _ = w.Write(b)
			_ = rc.Flush()
			*buf = b
			return
		}
	}
}
