package anthropic

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/careerpath/llmgateway/providers"
)

// encode validates req and writes its wire JSON into a pooled buffer. The
// caller owns one reference to the buffer and must release it.
func (p *Provider) encode(req *providers.Request, stream bool) (*reqBuf, error) {
	rb := getReqBuf()
	b, err := p.appendRequest(rb.b[:0], req, stream)
	rb.b = b
	if err != nil {
		rb.release()
		return nil, err
	}
	return rb, nil
}

// appendRequest validates req and appends the Messages API request body to
// dst. It writes the JSON by hand, in a fixed field order, so that a request
// costs no allocation beyond the (pooled) buffer.
func (p *Provider) appendRequest(dst []byte, req *providers.Request, stream bool) ([]byte, error) {
	if err := p.validate(req); err != nil {
		return dst, err
	}
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = p.maxTokens
	}

	dst = append(dst, `{"model":`...)
	dst = appendString(dst, req.Model)
	dst = append(dst, `,"max_tokens":`...)
	dst = strconv.AppendInt(dst, int64(maxTokens), 10)

	// System messages, hoisted and joined.
	first := true
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != providers.RoleSystem || m.Content == "" {
			continue
		}
		if first {
			dst = append(dst, `,"system":"`...)
			first = false
		} else {
			dst = append(dst, `\n\n`...)
		}
		dst = appendStringBody(dst, m.Content)
	}
	if !first {
		dst = append(dst, '"')
	}

	// The conversation, with runs of one role merged into one turn.
	dst = append(dst, `,"messages":[`...)
	var last providers.Role
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == providers.RoleSystem || m.Content == "" {
			continue
		}
		switch {
		case m.Role == last:
			dst = append(dst, `\n\n`...)
		case last == "":
			dst = append(dst, `{"role":"`...)
		default:
			dst = append(dst, `"},{"role":"`...)
		}
		if m.Role != last {
			dst = append(dst, m.Role...) // validated: "user" or "assistant"
			dst = append(dst, `","content":"`...)
			last = m.Role
		}
		dst = appendStringBody(dst, m.Content)
	}
	dst = append(dst, `"}]`...)

	if req.Temperature != nil {
		dst = append(dst, `,"temperature":`...)
		dst = appendFloat(dst, *req.Temperature)
	}
	if req.TopP != nil {
		dst = append(dst, `,"top_p":`...)
		dst = appendFloat(dst, *req.TopP)
	}
	if len(req.Stop) > 0 {
		dst = append(dst, `,"stop_sequences":[`...)
		for i, s := range req.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		dst = append(dst, ']')
	}
	if req.User != "" {
		dst = append(dst, `,"metadata":{"user_id":`...)
		dst = appendString(dst, req.User)
		dst = append(dst, '}')
	}
	if stream {
		dst = append(dst, `,"stream":true`...)
	}
	// req.Seed is deliberately ignored: the Messages API has no seed.
	return append(dst, '}'), nil
}

// validate rejects what the Messages API would reject anyway, so that no
// network call (and no retry) is spent on it.
func (p *Provider) validate(req *providers.Request) error {
	bad := func(format string, args ...any) error {
		return providers.Errorf(providers.KindBadRequest, p.name, format, args...)
	}
	if req == nil {
		return bad("nil request")
	}
	if req.Model == "" {
		return bad("model is required")
	}
	if req.MaxTokens < 0 {
		return bad("max_tokens %d is negative", req.MaxTokens)
	}
	if t := req.Temperature; t != nil && !(*t >= 0 && *t <= 1) {
		return bad("temperature %v is outside Anthropic's range 0..1", *t)
	}
	if t := req.TopP; t != nil && !(*t >= 0 && *t <= 1) {
		return bad("top_p %v is outside the range 0..1", *t)
	}
	var first providers.Role
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case providers.RoleSystem:
			continue
		case providers.RoleUser, providers.RoleAssistant:
		default:
			return bad("messages[%d]: role %q is not supported", i, m.Role)
		}
		if first == "" && m.Content != "" {
			first = m.Role
		}
	}
	switch first {
	case "":
		return bad("at least one non-empty user message is required")
	case providers.RoleAssistant:
		return bad("the first non-system message must be a user message, not an assistant message")
	}
	return nil
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendStringBody appends s escaped as the inside of a JSON string, exactly
// as encoding/json does with HTML escaping off: invalid UTF-8 becomes
// U+FFFD, and U+2028 and U+2029 are escaped.
func appendStringBody(dst []byte, s string) []byte {
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
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
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

// appendFloat appends f as encoding/json formats a float64. f must be
// finite (validate guarantees it).
func appendFloat(dst []byte, f float64) []byte {
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
