// Package wirejson writes the few JSON values the vendor wire packages
// put into hand-built request and response bodies, exactly
// as encoding/json would (with HTML escaping off), without reflection or
// allocation.
package wirejson

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendStringBody(dst, s)
	return append(dst, '"')
}

// AppendStringBody appends s escaped as the inside of a JSON string, as
// encoding/json does with HTML escaping off: invalid UTF-8 becomes U+FFFD,
// and U+2028 and U+2029 are escaped.
func AppendStringBody(dst []byte, s string) []byte { return appendEscaped(dst, s, true) }

// AppendStringBodyAsSlog is [AppendStringBody] as log/slog's JSON handler
// escapes: its copy of encoding/json's escaper writes backspace and form
// feed as \u0008 and \u000c, not \b and \f.
func AppendStringBodyAsSlog(dst []byte, s string) []byte { return appendEscaped(dst, s, false) }

// appendEscaped is AppendStringBody, with \b and \f for backspace and
// form feed when shortBF.
func appendEscaped(dst []byte, s string, shortBF bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b', '\f':
				switch {
				case !shortBF:
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
				case c == '\b':
					dst = append(dst, '\\', 'b')
				default:
					dst = append(dst, '\\', 'f')
				}
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// AppendFloat appends f as encoding/json formats a float64. f must be
// finite.
func AppendFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendFloat32 appends f as encoding/json formats a float32: the
// shortest decimal that reads back as f. f must be finite.
func AppendFloat32(dst []byte, f float32) []byte {
	format := byte('f')
	if abs := math.Abs(float64(f)); abs != 0 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, float64(f), format, -1, 32)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendStringArray appends ss as a JSON array of strings.
func AppendStringArray(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// AppendTextMessages appends a JSON array of {"role","content"} objects
// whose content is a string, reading each message's role and text through
// at.
func AppendTextMessages[T any](dst []byte, msgs []T, at func(*T) (role, text string)) []byte {
	dst = append(dst, '[')
	for i := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		role, text := at(&msgs[i])
		dst = append(dst, `{"role":`...)
		dst = AppendString(dst, role)
		dst = append(dst, `,"content":`...)
		dst = AppendString(dst, text)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// AppendOptInt appends key (`,"name":`) and *v when v is not nil.
func AppendOptInt(dst []byte, key string, v *int64) []byte {
	if v == nil {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendInt(dst, *v, 10)
}

// AppendOptFloat appends key (`,"name":`) and *v when v is not nil; *v
// must be finite.
func AppendOptFloat(dst []byte, key string, v *float64) []byte {
	if v == nil {
		return dst
	}
	dst = append(dst, key...)
	return AppendFloat(dst, *v)
}
