// Package jsonlog is a log/slog handler that writes the same JSON lines as
// slog's JSONHandler, several times faster for the records a gateway
// writes on every call: strings, numbers, booleans, durations, errors and
// groups of them. slog's handler formats every float through
// encoding/json and every record through its generic machinery; a record
// holding anything else (a time or an arbitrary value as an attribute, a
// float that JSON cannot hold) and every handler made by WithGroup are
// left to a slog.JSONHandler, so the output is byte for byte the same.
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// Handler writes JSON lines to an io.Writer that takes concurrent Writes
// of whole lines (an *os.File, internal/logwriter's Writer).
type Handler struct {
	slow *slog.JSONHandler
	w    io.Writer
	// pre holds the attributes of WithAttrs, encoded (each with its
	// leading comma); fast is false once a handler cannot take the fast
	// path (WithGroup, or WithAttrs of a kind it does not encode).
	pre  []byte
	fast bool
}

// New returns a handler writing to w with opts (nil: the defaults). Only
// opts.Level is read by the fast path; with AddSource or ReplaceAttr set
// every record goes to slog's handler.
func New(w io.Writer, opts *slog.HandlerOptions) *Handler {
	fast := opts == nil || (!opts.AddSource && opts.ReplaceAttr == nil)
	return &Handler{slow: slog.NewJSONHandler(w, opts), w: w, fast: fast}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.slow.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := &Handler{slow: h.slow.WithAttrs(as).(*slog.JSONHandler), w: h.w, fast: h.fast}
	if out.fast {
		pre, _, ok := appendAttrs(append([]byte(nil), h.pre...), as, true, 0)
		out.pre, out.fast = pre, ok
	}
	return out
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{slow: h.slow.WithGroup(name).(*slog.JSONHandler), w: h.w}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.fast {
		return h.slow.Handle(ctx, r)
	}
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			bufPool.Put(bp)
		}
	}()
	b := (*bp)[:0]
	b = append(b, '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return h.slow.Handle(ctx, r)
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, r.Message)
	b = append(b, h.pre...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, _, ok = appendAttr(b, a, true, 0)
		return ok
	})
	if !ok {
		return h.slow.Handle(ctx, r)
	}
	b = append(b, '}', '\n')
	*bp = b
	_, err := h.w.Write(b)
	return err
}

// appendAttrs appends as, the first after a comma when comma, and
// reports whether it appended any (as slog counts them: an empty group
// counts) and whether it could encode them all. depth is how many groups
// deep they are.
func appendAttrs(b []byte, as []slog.Attr, comma bool, depth int) (_ []byte, appended, ok bool) {
	for _, a := range as {
		n := len(b)
		var one bool
		if b, one, ok = appendAttr(b, a, comma, depth); !ok {
			return b, false, false
		}
		appended = appended || one
		if len(b) > n {
			comma = true
		}
	}
	return b, appended, true
}

// appendAttr appends a, after a comma when comma, as slog's JSONHandler
// does: an empty attribute is left out. It reports whether it appended a,
// and false for ok when it leaves the record to slog: empty groups, groups
// whose attributes are all empty, groups without a key (inlined) and
// groups within groups, whose handling by slog's handler has quirks (a
// missing comma after some of them, {} for others) that its output, which
// the lines must stay, keeps.
func appendAttr(b []byte, a slog.Attr, comma bool, depth int) (_ []byte, appended, ok bool) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b, false, true
	}
	v := a.Value
	if v.Kind() == slog.KindGroup {
		as := v.Group()
		if len(as) == 0 || a.Key == "" || depth > 0 {
			return b, false, false
		}
		pos := len(b)
		if comma {
			b = append(b, ',')
		}
		b = appendString(b, a.Key)
		b = append(b, ':', '{')
		b, appended, ok = appendAttrs(b, as, false, depth+1)
		if !ok {
			return b, false, false
		}
		if !appended {
			return b[:pos], false, false
		}
		return append(b, '}'), true, true
	}
	if comma {
		b = append(b, ',')
	}
	b = appendString(b, a.Key)
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return b, false, false
		}
		b = wirejson.AppendFloat(b, f)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindAny:
		err, isErr := v.Any().(error)
		if _, marshals := v.Any().(interface{ MarshalJSON() ([]byte, error) }); !isErr || marshals {
			return b, false, false
		}
		b = appendString(b, err.Error())
	default: // times
		return b, false, false
	}
	return b, true, true
}

// appendString appends s quoted as slog's JSONHandler does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = wirejson.AppendStringBodyAsSlog(b, s)
	return append(b, '"')
}
