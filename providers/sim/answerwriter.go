package sim

import (
	"net/http"
	"strconv"
	"time"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
)

// flushThreshold is the buffered size at which an unpaced stream is
// written out even before its end.
const flushThreshold = 32 << 10

// writeUnary writes a complete JSON answer; disconnect sends half of it and
// drops the connection, malformed sends half of it as if it were all.
func writeUnary(w http.ResponseWriter, ex *exchange, disconnect, malformed bool) {
	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:0]
	switch {
	case ex.rich != nil:
		b = ex.appendRichUnary(b)
	case ex.format == formatAnthropic:
		b = ex.appendAnthropicUnary(b)
	default:
		b = ex.appendOpenAIUnary(b)
	}
	*bp = b
	h := w.Header()
	h["Content-Type"] = hdrJSON
	switch {
	case disconnect:
		h.Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b[:len(b)/2])
		abort(w, true)
		return
	case malformed:
		b = b[:len(b)/2]
	}
	// net/http computes Content-Length itself for a body that fits its
	// 2 KiB buffer; set it for longer ones to avoid chunked encoding.
	if len(b) >= 2048 {
		h.Set("Content-Length", strconv.Itoa(len(b)))
	}
	_, _ = w.Write(b)
}

// writeStream writes an SSE answer. Events are flushed one by one when the
// stream is paced (TTFT or InterToken set) and otherwise coalesced into as
// few writes as possible. disconnectAt >= 0 drops the connection after that
// many content tokens; malformed sends a broken event.
func (s *Server) writeStream(w http.ResponseWriter, r *http.Request, cfg *Config, ex *exchange, disconnectAt int, malformed bool) {
	if ex.rich != nil {
		s.writeRichStream(w, r, cfg, ex, disconnectAt, malformed)
		return
	}
	h := w.Header()
	h["Content-Type"] = hdrEventStream
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}

	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:0]
	defer func() { *bp = b[:0] }()
	anthropic := ex.format == formatAnthropic
	if !anthropic {
		pp := getBuf()
		defer putBuf(pp)
		ex.pre = ex.buildOpenAIChunkPrefix((*pp)[:0])
		defer func() { *pp = ex.pre[:0] }()
	}

	if anthropic {
		b = ex.appendAnthropicStart(b)
	} else {
		b = ex.appendOpenAIStart(b)
	}
	if malformed {
		if anthropic {
			b = appendAnthropicBroken(b)
			b = append(b, anthropicwire.MessageStopEvent...)
		} else {
			b = ex.appendOpenAIBroken(b)
			b = append(b, openaiwire.DoneEvent...)
		}
		send(b)
		return
	}

	ctx := r.Context()
	if cfg.TTFT > 0 || disconnectAt == 0 {
		if !send(b) {
			return
		}
		b = b[:0]
		if disconnectAt == 0 {
			abort(w, true)
			return
		}
		if !s.sleep(ctx, w, cfg.TTFT) {
			return
		}
	}

	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	toks := ex.ans.tokens()
	for i := range ex.ans.n {
		if i > 0 && cfg.InterToken > 0 {
			if timer == nil {
				timer = time.NewTimer(cfg.InterToken)
			} else {
				timer.Reset(cfg.InterToken)
			}
			if !s.wait(ctx, w, timer) {
				return
			}
		}
		switch {
		case ex.openaiRich != nil:
			b = ex.appendOpenAIRichPiece(b, i)
		case anthropic:
			b = append(b, anthropicwire.TextDeltaOpen...)
			b = toks.appendNext(b)
			b = append(b, anthropicwire.TextDeltaClose...)
		default:
			b = ex.appendOpenAITokenOpen(b)
			b = toks.appendNext(b)
			b = ex.appendOpenAITokenClose(b)
		}
		if cfg.InterToken > 0 || len(b) >= flushThreshold || i+1 == disconnectAt {
			if !send(b) {
				return
			}
			b = b[:0]
		}
		if i+1 == disconnectAt {
			abort(w, true)
			return
		}
	}
	if disconnectAt >= 0 { // asked for more tokens than the answer has
		send(b)
		abort(w, true)
		return
	}
	if anthropic {
		b = ex.appendAnthropicEnd(b)
	} else {
		b = ex.appendOpenAIEnd(b)
	}
	send(b)
}
