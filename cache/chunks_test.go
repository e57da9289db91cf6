package cache_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/careerpath/llmgateway/cache"
)

func TestChunks(t *testing.T) {
	tests := []struct {
		text string
		max  int
		want []string
	}{
		{"", 10, nil},
		{"Hello", 0, []string{"Hello"}},
		{"Hello world!", 0, []string{"Hello", " world!"}},
		{"Hello world, how are you?", 0, []string{"Hello", " world,", " how", " are", " you?"}},
		{"Hello world, how are you?", 12, []string{"Hello world,", " how are", " you?"}},
		{"Hello world, how are you?", 100, []string{"Hello world, how are you?"}},
		{"  leading and trailing  ", 0, []string{"  leading", " and", " trailing", "  "}},
		{"line one\n\nline two\n", 0, []string{"line", " one", "\n\nline", " two", "\n"}},
		{"supercalifragilistic is long", 5, []string{"super", "calif", "ragil", "istic", " is", " long"}},
		{"aaa bbbbbbb", 4, []string{"aaa", " bbb", "bbbb"}},
		{"héllo wörld", 3, []string{"hé", "llo", " w", "ör", "ld"}},             // é and ö are 2 bytes: never split
		{"🎉🎉 x", 2, []string{"🎉", "🎉", " x"}},                                   // a 4-byte rune is its own delta past the limit
		{"日本語のテキスト", 7, []string{"日本", "語の", "テキ", "スト"}},                       // no spaces: cut between characters
		{"tab\tand\u00a0nbsp", 0, []string{"tab", "\tand", "\u00a0nbsp"}},       // Unicode spaces count
		{"bad \xff\xfe utf8", 0, []string{"bad", " \xff\xfe", " utf8"}},         // invalid bytes kept as they are
		{"x" + strings.Repeat(" ", 10), 4, []string{"x", "    ", "    ", "  "}}, // runs of spaces cut too
		{"a b c d e f", 3, []string{"a b", " c", " d", " e", " f"}},
		{"a b c d e f", 4, []string{"a b", " c d", " e f"}},
	}
	for _, tc := range tests {
		got := cache.Entry{Text: tc.text}.Chunks(tc.max)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Chunks(%q, %d)\n got %q\nwant %q", tc.text, tc.max, got, tc.want)
		}
	}
}

func FuzzChunks(f *testing.F) {
	f.Add("Hello world, how are you?", 8)
	f.Add("héllo wörld 🎉 日本語", 3)
	f.Add("\xff\xfe \x80 x", 1)
	f.Add("   ", 0)
	f.Fuzz(func(t *testing.T, text string, maxChunk int) {
		maxChunk %= 64
		chunks := cache.Entry{Text: text}.Chunks(maxChunk)
		if got := strings.Join(chunks, ""); got != text {
			t.Fatalf("chunks %q join to %q", chunks, got)
		}
		for i, c := range chunks {
			if c == "" {
				t.Fatalf("empty chunk %d in %q", i, chunks)
			}
			if maxChunk > 0 && len(c) > maxChunk {
				// Only one character past the limit may stand alone.
				if _, n := utf8.DecodeRuneInString(c); n != len(c) {
					t.Fatalf("chunk %q longer than %d", c, maxChunk)
				}
			}
			if utf8.ValidString(text) && !utf8.ValidString(c) {
				t.Fatalf("chunk %q cuts a character", c)
			}
			if i > 0 && maxChunk <= 0 {
				// One word per chunk: each after the first begins with space.
				if r, _ := utf8.DecodeRuneInString(c); !unicode.IsSpace(r) {
					t.Fatalf("chunk %d %q of %q does not start a word", i, c, chunks)
				}
			}
		}
	})
}

func BenchmarkChunks(b *testing.B) {
	e := benchEntry()
	b.ReportAllocs()
	b.SetBytes(int64(len(e.Text)))
	for b.Loop() {
		_ = e.Chunks(32)
	}
}
