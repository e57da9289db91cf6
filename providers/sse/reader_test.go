package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

type ev struct{ name, data string }

func readAll(t testing.TB, in string) ([]ev, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []ev
	for {
		e, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev{e.Name, string(e.Data)})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ev
		err  error
	}{
		{"openai style", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []ev{{"", `{"a":1}`}, {"", "[DONE]"}}, io.EOF},
		{"anthropic style", "event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n", []ev{{"message_start", "{}"}, {"ping", `{"type": "ping"}`}}, io.EOF},
		{"no space after colon", "data:x\n\n", []ev{{"", "x"}}, io.EOF},
		{"only one space stripped", "data:  x\n\n", []ev{{"", " x"}}, io.EOF},
		{"crlf", "event: a\r\ndata: 1\r\n\r\n", []ev{{"a", "1"}}, io.EOF},
		{"multi data lines", "data: a\ndata: b\n\n", []ev{{"", "a\nb"}}, io.EOF},
		{"comments skipped", ": keep-alive\n\ndata: x\n\n", []ev{{"", "x"}}, io.EOF},
		{"event without data is dropped", "event: a\n\ndata: x\n\n", []ev{{"", "x"}}, io.EOF},
		{"bom", "\xEF\xBB\xBFdata: x\n\n", []ev{{"", "x"}}, io.EOF},
		{"truncated event", "data: x\n\ndata: {\"partial", []ev{{"", "x"}}, io.ErrUnexpectedEOF},
		{"truncated before blank line", "data: x\n", nil, io.ErrUnexpectedEOF},
		{"empty", "", nil, io.EOF},
		{"retry and unknown ignored", "retry: 10\nfoo: bar\ndata: x\n\n", []ev{{"", "x"}}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReaderLongLine(t *testing.T) {
	in := "data: " + strings.Repeat("x", MaxLineBytes+1) + "\n\n"
	if _, err := readAll(t, in); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("data: {\"a\":1}\n\ndata: [DONE]\n\n")
	f.Add("event: message_start\ndata: {}\n\n: ping\n\n")
	f.Add("data:x\r\ndata:y\r\n\r\nid: 3\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		for i := 0; ; i++ {
			e, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrLineTooLong) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(e.Data) > len(in) {
				t.Fatalf("data longer than input")
			}
			if i > len(in) {
				t.Fatalf("more events than input bytes")
			}
		}
	})
}

func BenchmarkReader(b *testing.B) {
	chunk := "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n"
	in := strings.Repeat(chunk, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r := NewReader(strings.NewReader(in))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
