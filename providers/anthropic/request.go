package anthropic

import (
	"sync"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/anthropic"
)

// encode validates req and writes its wire JSON into a pooled buffer. The
// caller must release the buffer.
// unwrap reports whether the answer is the input of a forced
// [JSONAnswerTool] call.
func (p *Provider) encode(req *providers.Request, stream bool) (rb *reqBuf, unwrap bool, err error) {
	rb = getReqBuf()
	b, unwrap, err := p.appendRequest(rb.b[:0], req, stream)
	rb.b = b
	if err != nil {
		rb.release()
		return nil, false, err
	}
	return rb, unwrap, nil
}

// appendRequest validates req and appends the Messages API request body to
// dst. The common request (string contents, no turns to merge) costs no
// allocation beyond the (pooled) buffer.
func (p *Provider) appendRequest(dst []byte, req *providers.Request, stream bool) ([]byte, bool, error) {
	if err := p.validate(req); err != nil {
		return dst, false, err
	}
	t := translationPool.Get().(*translation)
	defer t.release()
	unwrap := false
	if rich(req) {
		t.fillCommon(req, p.maxTokens, stream)
		var err error
		if unwrap, err = t.fillRich(p, req); err != nil {
			return dst, false, err
		}
	} else {
		t.fill(req, p.maxTokens, stream)
	}
	out, err := t.r.AppendJSON(dst)
	if err != nil {
		return dst, false, &providers.Error{Kind: providers.KindBadRequest, Provider: p.name, Message: "cannot encode request", Err: err}
	}
	return out, unwrap, nil
}

// translation is a pooled wire request with the values its pointers refer
// to.
type translation struct {
	r         wire.MessagesRequest
	maxTokens int64
	metadata  wire.Metadata
}

var translationPool = sync.Pool{New: func() any { return new(translation) }}

func (t *translation) release() {
	msgs := t.r.Messages[:cap(t.r.Messages)]
	clear(msgs) // drop the references to the caller's strings
	if cap(msgs) > 256 {
		msgs = nil
	}
	*t = translation{r: wire.MessagesRequest{Messages: msgs[:0]}}
	translationPool.Put(t)
}

// fill translates a validated req: system messages hoisted into the system
// prompt and joined with a blank line, consecutive turns of one role
// merged the same way (the API requires strict alternation), empty turns
// dropped. A request without max_tokens gets defaultMaxTokens; req.Seed is
// deliberately ignored: the Messages API has no seed.
func (t *translation) fill(req *providers.Request, defaultMaxTokens int, stream bool) {
	r := &t.r
	t.fillCommon(req, defaultMaxTokens, stream)
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == providers.RoleSystem && m.Content != "" {
			r.System.Text = joinTurns(r.System.Text, m.Content)
		}
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == providers.RoleSystem || m.Content == "" {
			continue
		}
		if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == string(m.Role) {
			last := &r.Messages[n-1].Content
			last.Text = joinTurns(last.Text, m.Content)
			continue
		}
		r.Messages = append(r.Messages, wire.MessageParam{Role: string(m.Role), Content: wire.Content{Text: m.Content}})
	}
}

// fillCommon translates what every request has beyond its messages.
func (t *translation) fillCommon(req *providers.Request, defaultMaxTokens int, stream bool) {
	r := &t.r
	r.Model = req.Model
	t.maxTokens = int64(req.MaxTokens)
	if t.maxTokens == 0 {
		t.maxTokens = int64(defaultMaxTokens)
	}
	r.MaxTokens = &t.maxTokens
	r.Temperature, r.TopP = req.Temperature, req.TopP
	r.StopSequences = req.Stop
	if req.User != "" {
		t.metadata.UserID = req.User
		r.Metadata = &t.metadata
	}
	r.Stream = stream
}

// joinTurns joins the contents of two merged turns with a blank line.
func joinTurns(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
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
		case providers.RoleTool:
			// Tool results go back in a user turn.
		default:
			return bad("messages[%d]: role %q is not supported", i, m.Role)
		}
		if first == "" && (m.Content != "" || len(m.Parts) > 0) {
			first = m.Role
		}
	}
	switch first {
	case "":
		return bad("at least one non-empty user message is required")
	case providers.RoleAssistant:
		return bad("the first non-system message must be a user message, not an assistant message")
	}
	if req.Reasoning.Effort != providers.EffortDefault {
		return bad("reasoning.effort is not supported by the Messages API; set reasoning.budget_tokens")
	}
	return nil
}
