package anthropic

import (
	"strconv"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/wirejson"
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
	dst = wirejson.AppendString(dst, req.Model)
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
		dst = wirejson.AppendStringBody(dst, m.Content)
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
		dst = wirejson.AppendStringBody(dst, m.Content)
	}
	dst = append(dst, `"}]`...)

	if req.Temperature != nil {
		dst = append(dst, `,"temperature":`...)
		dst = wirejson.AppendFloat(dst, *req.Temperature)
	}
	if req.TopP != nil {
		dst = append(dst, `,"top_p":`...)
		dst = wirejson.AppendFloat(dst, *req.TopP)
	}
	if len(req.Stop) > 0 {
		dst = append(dst, `,"stop_sequences":[`...)
		for i, s := range req.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = wirejson.AppendString(dst, s)
		}
		dst = append(dst, ']')
	}
	if req.User != "" {
		dst = append(dst, `,"metadata":{"user_id":`...)
		dst = wirejson.AppendString(dst, req.User)
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
