package cache

import (
	"unicode"
	"unicode/utf8"
)

// Chunks cuts the entry's text into deltas for replaying it as a stream.
// Cuts fall on word boundaries, before the whitespace that leads a word
// (as models stream: "Hello", " world", "!"), and each delta packs as many
// words as fit in maxChunk bytes. A word longer than maxChunk is cut
// between characters, never inside one (a single character longer than
// maxChunk is a delta of its own). maxChunk <= 0 means one word per delta.
//
// The deltas are substrings of the text, in order, and join to exactly
// the text; an empty text has none.
func (e Entry) Chunks(maxChunk int) []string {
	s := e.Text
	if s == "" {
		return nil
	}
	out := make([]string, 0, chunkEstimate(len(s), maxChunk))
	start := 0 // of the delta being packed
	for i := 0; i < len(s); {
		j := wordEnd(s, i)
		if i > start && (maxChunk <= 0 || j-start > maxChunk) {
			out = append(out, s[start:i])
			start = i
		}
		for maxChunk > 0 && j-start > maxChunk {
			cut := runeCut(s, start, start+maxChunk)
			out = append(out, s[start:cut])
			start = cut
		}
		i = j
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// wordEnd returns the end of the word at i: the whitespace from i, then
// the non-whitespace after it.
func wordEnd(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// runeCut returns the last character boundary in (start, limit], or, when
// the character at start is longer than that, the end of that character.
func runeCut(s string, start, limit int) int {
	for p := limit; p > start; p-- {
		if p == len(s) || utf8.RuneStart(s[p]) {
			return p
		}
	}
	_, n := utf8.DecodeRuneInString(s[start:])
	return start + n
}

// chunkEstimate guesses the number of deltas, to size the slice once for
// typical prose (about six bytes a word).
func chunkEstimate(n, maxChunk int) int {
	per := max(maxChunk, 6)
	return min(n/per+1, 1<<12)
}
