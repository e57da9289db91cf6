package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
)

// messagesRequestPool holds decoded requests. The simulator reads the
// model, the system prompt, the messages, max_tokens and stream; other
// fields are accepted and ignored.
var messagesRequestPool = sync.Pool{New: func() any { return new(anthropicwire.MessagesRequest) }}

func getMessagesRequest() *anthropicwire.MessagesRequest {
	req := messagesRequestPool.Get().(*anthropicwire.MessagesRequest)
	msgs := req.Messages[:cap(req.Messages)]
	clear(msgs)
	*req = anthropicwire.MessagesRequest{Messages: msgs[:0]}
	return req
}

func putMessagesRequest(req *anthropicwire.MessagesRequest) {
	if cap(req.Messages) <= maxPooledMessages {
		messagesRequestPool.Put(req)
	}
}

// serveMessages answers POST /v1/messages.
func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	cfg := s.cfg.Load()
	if !authorized(w, r, cfg, formatAnthropic) {
		return
	}
	bp, ok := readRequest(w, r, formatAnthropic)
	if !ok {
		return
	}
	req := getMessagesRequest()
	err := json.Unmarshal(*bp, req)
	putBuf(bp)
	if err != nil {
		putMessagesRequest(req)
		writeAPIError(w, formatAnthropic, anthropicDecodeError(err), "")
		return
	}
	var ex exchange
	ok = ex.fromMessages(w, cfg, req)
	putMessagesRequest(req)
	if ok {
		s.respond(w, r, cfg, &ex)
	}
}

// fromMessages validates req like the real API and plans the answer.
func (ex *exchange) fromMessages(w http.ResponseWriter, cfg *Config, req *anthropicwire.MessagesRequest) bool {
	var msg string
	switch {
	case req.Model == "":
		msg = "model: Field required"
	case req.Messages == nil:
		msg = "messages: Field required"
	case len(req.Messages) == 0:
		msg = "messages: at least one message is required"
	case req.MaxTokens == nil:
		msg = "max_tokens: Field required"
	case *req.MaxTokens < 1:
		msg = "max_tokens: Input should be greater than or equal to 1"
	default:
		lastUser, n, count := conversation(len(req.Messages), func(i int) (string, string) {
			m := &req.Messages[i]
			return m.Role, m.Content.String()
		}, req.System.String())
		ex.init(formatAnthropic, PathMessages)
		ex.model = req.Model
		ex.stream = req.Stream
		ex.ans = planAnswer(req.Model, lastUser, cfg.answerTokens(), intOf(req.MaxTokens))
		ex.inputTokens = estimateInputTokens(n, count)
		return true
	}
	writeAPIError(w, formatAnthropic, badRequest(msg, "", ""), "")
	return false
}

func anthropicDecodeError(err error) apiError {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return badRequest("There was an issue with the formatting or content of your request body: invalid JSON", "", "")
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return badRequest(typ.Field+": Input should be a valid "+typ.Type.String(), "", "")
	}
	return badRequest("There was an issue with the formatting or content of your request body: "+err.Error(), "", "")
}

func (ex *exchange) anthropicStopReason() string {
	if ex.ans.length {
		return anthropicwire.StopMaxTokens
	}
	return anthropicwire.StopEndTurn
}

// anthropicUsage is the usage with output tokens out; nothing is read
// from or written to a prompt cache.
func (ex *exchange) anthropicUsage(out int) anthropicwire.Counts {
	return anthropicwire.Counts{Input: int64(ex.inputTokens), Output: int64(out)}
}

// appendAnthropicUnary appends a message object.
func (ex *exchange) appendAnthropicUnary(b []byte) []byte {
	b = anthropicwire.AppendMessageHead(b, ex.id, ex.model)
	b = append(b, anthropicwire.TextBlockOpen...)
	b = ex.ans.appendText(b)
	b = append(b, anthropicwire.TextBlockClose...)
	c := ex.anthropicUsage(ex.ans.n)
	u := c.Usage()
	return anthropicwire.AppendMessageTail(b, ex.anthropicStopReason(), &u)
}

// Anthropic stream: message_start, content_block_start, ping, one
// content_block_delta per token, content_block_stop, message_delta (stop
// reason and cumulative output tokens), message_stop.

func (ex *exchange) appendAnthropicStart(b []byte) []byte {
	c := ex.anthropicUsage(1)
	u := c.Usage()
	b = anthropicwire.AppendMessageStart(b, ex.id, ex.model, &u)
	b = append(b, anthropicwire.TextBlockStartEvent...)
	return append(b, anthropicwire.PingEvent...)
}

func (ex *exchange) appendAnthropicEnd(b []byte) []byte {
	b = append(b, anthropicwire.TextBlockStopEvent...)
	out := int64(ex.ans.n)
	b = anthropicwire.AppendMessageDelta(b, ex.anthropicStopReason(), &anthropicwire.Usage{OutputTokens: &out})
	return append(b, anthropicwire.MessageStopEvent...)
}

// appendAnthropicBroken appends a cut-off delta event, as a malformed
// fault sends it.
func appendAnthropicBroken(b []byte) []byte {
	return append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_de\n\n"...)
}
