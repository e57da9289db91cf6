package providers

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lengths of upstream text a [Redactor] keeps in an error.
const (
	// MaxMessageBytes bounds [Redactor.Clean]'s result, before its "…".
	MaxMessageBytes = 512
	// MaxExcerptBytes bounds [Redactor.Excerpt]'s result, before its
	// quotes and "…".
	MaxExcerptBytes = 96
)

// Redactor makes a vendor's text safe to carry in an [*Error]: the
// provider's own key and anything shaped like one of the vendor's keys
// removed, control characters replaced, length bounded.
type Redactor struct {
	// Key is the provider's credential, redacted wherever it appears.
	Key string
	// KeyPrefix starts the vendor's keys ("sk-ant-", "AIza"); it and the
	// key characters after it are redacted.
	KeyPrefix string
}

// Clean makes upstream text, such as an error object's message, safe to
// carry in an error: credentials redacted, control characters replaced,
// at most [MaxMessageBytes].
func (r Redactor) Clean(s string) string {
	return truncate(r.Redact(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))), MaxMessageBytes)
}

// Excerpt is a short, sanitised, quoted piece of a body that could not be
// parsed: tags dropped, whitespace collapsed, credentials redacted.
func (r Redactor) Excerpt(body []byte) string {
	if len(body) > 4*MaxExcerptBytes+1024 {
		body = body[:4*MaxExcerptBytes+1024]
	}
	var b strings.Builder
	inTag, space := false, false
	for _, c := range r.Redact(strings.ToValidUTF8(string(body), "\uFFFD")) {
		switch {
		case c == '<':
			inTag = true
		case c == '>' && inTag:
			inTag = false
			space = true
		case inTag:
		case unicode.IsSpace(c) || unicode.IsControl(c):
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(c)
		}
		if b.Len() > 2*MaxExcerptBytes {
			break
		}
	}
	s := truncate(r.Redact(b.String()), MaxExcerptBytes)
	if s == "" {
		return `""`
	}
	return `"` + s + `"`
}

// Redact replaces the key, and KeyPrefix with the key characters after
// it, by "[REDACTED]".
func (r Redactor) Redact(s string) string {
	if r.Key != "" {
		s = strings.ReplaceAll(s, r.Key, "[REDACTED]")
	}
	if r.KeyPrefix == "" {
		return s
	}
	for i := 0; ; {
		j := strings.Index(s[i:], r.KeyPrefix)
		if j < 0 {
			return s
		}
		start := i + j
		end := start + len(r.KeyPrefix)
		for end < len(s) && isKeyByte(s[end]) {
			end++
		}
		s = s[:start] + "[REDACTED]" + s[end:]
		i = start + len("[REDACTED]")
	}
}

func isKeyByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// MaxCodeBytes bounds the vendor error codes [Redactor.Code] keeps.
const MaxCodeBytes = 64

// Code returns a vendor's error type or code if it is a short identifier
// (letters, digits, '_', '-', '.', '/') that holds neither the key nor
// the vendor's key prefix; otherwise "". A code is carried as it is
// (metrics, statuses), so it is kept whole or not at all.
func (r Redactor) Code(code string) string {
	if code == "" || len(code) > MaxCodeBytes || (r.Key != "" && strings.Contains(code, r.Key)) ||
		(r.KeyPrefix != "" && strings.Contains(code, r.KeyPrefix)) {
		return ""
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.', c == '/':
		default:
			return ""
		}
	}
	return code
}
