package jsonlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"
)

// gen builds attributes from fuzz bytes: every kind, nested and inlined
// groups, LogValuers, empty keys and values, awkward strings and floats.
type gen struct{ data []byte }

func (g *gen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *gen) u64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = g.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

var strs = []string{"", "route", "\b\f", "a\"b\\c", "line\nbreak\t\r", "\x00\x1f\x7f", "<&>", "héllo", "\u2028\u2029", "bad\xffutf8", "emoji 🚀", "\xe2\x82"}

func (g *gen) str() string { return strs[int(g.byte())%len(strs)] }

type valuer struct{ v slog.Value }

func (v valuer) LogValue() slog.Value { return v.v }

type marshaler struct{ error }

func (marshaler) MarshalJSON() ([]byte, error) { return []byte(`{"m":1}`), nil }

func (g *gen) attr(depth int) slog.Attr {
	key := g.str()
	switch g.byte() % 16 {
	case 0:
		return slog.String(key, g.str())
	case 1:
		return slog.Int64(key, int64(g.u64()))
	case 2:
		return slog.Uint64(key, g.u64())
	case 3:
		return slog.Float64(key, math.Float64frombits(g.u64()))
	case 4:
		return slog.Float64(key, []float64{0, 1.5, 1e-7, 1e21, 123456789.125, 3e-9, -0.000001, 1e20, 0.1}[g.byte()%9])
	case 5:
		return slog.Bool(key, g.byte()%2 == 0)
	case 6:
		return slog.Duration(key, time.Duration(g.u64()))
	case 7:
		return slog.Any(key, errors.New(g.str()))
	case 8:
		return slog.Time(key, time.Unix(int64(g.u64()%4e9), 0).UTC())
	case 9:
		return slog.Any(key, []int{1, 2})
	case 10:
		return slog.Any(key, nil)
	case 11:
		return slog.Attr{}
	case 12:
		return slog.Any(key, marshaler{errors.New("e")})
	default:
		if depth > 3 {
			return slog.Int(key, 1)
		}
		n := int(g.byte() % 4)
		as := make([]slog.Attr, 0, n)
		for range n {
			as = append(as, g.attr(depth+1))
		}
		if g.byte()%3 == 0 {
			return slog.Any(key, valuer{slog.GroupValue(as...)})
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(as...)}
	}
}

// FuzzSameAsSlog: for any record, and any attributes given by WithAttrs,
// the handler writes exactly what slog's JSONHandler writes.
func FuzzSameAsSlog(f *testing.F) {
	f.Add([]byte("request"))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 13, 3, 0, 0, 3, 4, 5})
	f.Add(bytes.Repeat([]byte{15, 1, 3, 4}, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		var pre []slog.Attr
		for range int(g.byte() % 3) {
			pre = append(pre, g.attr(0))
		}
		var as []slog.Attr
		for range int(g.byte() % 8) {
			as = append(as, g.attr(0))
		}
		r := slog.NewRecord(time.Date(2026, 12, 5, 1, 2, 3, int(g.u64()%1e9), time.UTC), slog.Level(int8(g.byte())), g.str(), 0)
		if g.byte()%5 == 0 {
			r.Time = time.Time{}
		}
		r.AddAttrs(as...)
		var want, got bytes.Buffer
		opts := &slog.HandlerOptions{Level: slog.Level(-100)}
		var sh slog.Handler = slog.NewJSONHandler(&want, opts)
		var fh slog.Handler = New(&got, opts)
		if len(pre) > 0 {
			sh, fh = sh.WithAttrs(pre), fh.WithAttrs(pre)
		}
		if g.byte()%7 == 0 {
			sh, fh = sh.WithGroup("g"), fh.WithGroup("g")
		}
		_ = sh.Handle(context.Background(), r)
		_ = fh.Handle(context.Background(), r)
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Fatalf("slog:    %s\njsonlog: %s", want.Bytes(), got.Bytes())
		}
	})
}

// accessLine is a record like the gateway's access line.
func accessLine() slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("rpc", "/llmgateway.v1.LLMGateway/Complete"), slog.String("status", "OK"),
		slog.String("client", "rails-app"), slog.Group("request", slog.Int("messages", 2), slog.Int("max_tokens", 512)),
		slog.String("route", "career_advice"), slog.String("variant", "a"), slog.String("provider", "openai"),
		slog.String("model", "gpt-4o-mini"), slog.Int64("input_tokens", 412), slog.Int64("output_tokens", 96),
		slog.Float64("cost_usd", 0.0001194), slog.Int64("cost_nano_usd", 119400), slog.String("cache", "miss"),
		slog.String("step", "primary"), slog.Int("failed_attempts", 0), slog.Float64("latency_ms", 412.803),
		slog.Float64("overhead_ms", 0.214), slog.Float64("upstream_ms", 412.589))
	return r
}

func TestAccessLine(t *testing.T) {
	var want, got bytes.Buffer
	r := accessLine()
	_ = slog.NewJSONHandler(&want, nil).Handle(context.Background(), r)
	_ = New(&got, nil).Handle(context.Background(), r)
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		t.Fatalf("slog:    %s\njsonlog: %s", want.Bytes(), got.Bytes())
	}
	h := New(io.Discard, nil)
	if n := testing.AllocsPerRun(100, func() { _ = h.Handle(context.Background(), r) }); n > 0 {
		t.Errorf("%v allocations per access line", n)
	}
}

func TestEnabledFollowsTheLevel(t *testing.T) {
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	h := New(io.Discard, &slog.HandlerOptions{Level: lv})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the level")
	}
}

func BenchmarkAccessLine(b *testing.B) {
	r := accessLine()
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{{"slog", slog.NewJSONHandler(io.Discard, nil)}, {"jsonlog", New(io.Discard, nil)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.h.Handle(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
