package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/careerpath/llmgateway/providers/wirejson"
)

// messagesRequest is the part of an Anthropic Messages request the
// simulator reads; other fields are accepted and ignored.
type messagesRequest struct {
	Model     string    `json:"model"`
	Messages  []message `json:"messages"`
	System    content   `json:"system"`
	MaxTokens optInt    `json:"max_tokens"`
	Stream    bool      `json:"stream"`
}

var messagesRequestPool = sync.Pool{New: func() any { return new(messagesRequest) }}

func getMessagesRequest() *messagesRequest {
	req := messagesRequestPool.Get().(*messagesRequest)
	msgs := req.Messages[:cap(req.Messages)]
	clear(msgs)
	*req = messagesRequest{Messages: msgs[:0]}
	return req
}

func putMessagesRequest(req *messagesRequest) {
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
func (ex *exchange) fromMessages(w http.ResponseWriter, cfg *Config, req *messagesRequest) bool {
	var msg string
	switch {
	case req.Model == "":
		msg = "model: Field required"
	case req.Messages == nil:
		msg = "messages: Field required"
	case len(req.Messages) == 0:
		msg = "messages: at least one message is required"
	case !req.MaxTokens.set:
		msg = "max_tokens: Field required"
	case req.MaxTokens.v < 1:
		msg = "max_tokens: Input should be greater than or equal to 1"
	default:
		lastUser, n, count := conversation(req.Messages, string(req.System))
		ex.init(formatAnthropic, PathMessages)
		ex.model = req.Model
		ex.stream = req.Stream
		ex.ans = planAnswer(req.Model, lastUser, cfg.answerTokens(), req.MaxTokens.v)
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

func (ex *exchange) appendAnthropicStopReason(b []byte) []byte {
	if ex.ans.length {
		return append(b, `"max_tokens"`...)
	}
	return append(b, `"end_turn"`...)
}

// appendAnthropicUsage appends a usage object with output tokens out.
func (ex *exchange) appendAnthropicUsage(b []byte, out int) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(ex.inputTokens), 10)
	b = append(b, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(out), 10)
	return append(b, '}')
}

// appendAnthropicMessageHead appends the opening of a message object, up
// to and including its model.
func (ex *exchange) appendAnthropicMessageHead(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = ex.appendID(b)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	return wirejson.AppendString(b, ex.model)
}

// appendAnthropicUnary appends a message object.
func (ex *exchange) appendAnthropicUnary(b []byte) []byte {
	b = ex.appendAnthropicMessageHead(b)
	b = append(b, `,"content":[{"type":"text","text":"`...)
	b = ex.ans.appendText(b)
	b = append(b, `"}],"stop_reason":`...)
	b = ex.appendAnthropicStopReason(b)
	b = append(b, `,"stop_sequence":null,"usage":`...)
	b = ex.appendAnthropicUsage(b, ex.ans.n)
	return append(b, '}')
}

// Anthropic stream: message_start, content_block_start, ping, one
// content_block_delta per token, content_block_stop, message_delta (stop
// reason and cumulative output tokens), message_stop.

func (ex *exchange) appendAnthropicStart(b []byte) []byte {
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"...)
	b = ex.appendAnthropicMessageHead(b)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = ex.appendAnthropicUsage(b, 1)
	b = append(b, "}}\n\n"...)
	b = append(b, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"...)
	return append(b, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
}

func appendAnthropicTokenOpen(b []byte) []byte {
	return append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\""...)
}

func appendAnthropicTokenClose(b []byte) []byte {
	return append(b, "\"}}\n\n"...)
}

func (ex *exchange) appendAnthropicEnd(b []byte) []byte {
	b = append(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"...)
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	b = ex.appendAnthropicStopReason(b)
	b = append(b, `,"stop_sequence":null},"usage":{"output_tokens":`...)
	b = strconv.AppendInt(b, int64(ex.ans.n), 10)
	b = append(b, "}}\n\n"...)
	return append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func appendAnthropicBroken(b []byte) []byte {
	return append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_de\n\n"...)
}
