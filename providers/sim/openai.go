package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/careerpath/llmgateway/providers/wirejson"
)

// chatRequest is the part of an OpenAI chat completion request the
// simulator reads; other fields (temperature, top_p, seed, …) are accepted
// and ignored, so they never change the answer.
type chatRequest struct {
	Model               string    `json:"model"`
	Messages            []message `json:"messages"`
	MaxTokens           optInt    `json:"max_tokens"`
	MaxCompletionTokens optInt    `json:"max_completion_tokens"`
	Stream              bool      `json:"stream"`
	StreamOptions       struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

var chatRequestPool = sync.Pool{New: func() any { return new(chatRequest) }}

// maxPooledMessages bounds the message slice kept in a pooled request.
const maxPooledMessages = 256

func getChatRequest() *chatRequest {
	req := chatRequestPool.Get().(*chatRequest)
	msgs := req.Messages[:cap(req.Messages)]
	clear(msgs) // encoding/json decodes into old elements without zeroing them
	*req = chatRequest{Messages: msgs[:0]}
	return req
}

func putChatRequest(req *chatRequest) {
	if cap(req.Messages) <= maxPooledMessages {
		chatRequestPool.Put(req)
	}
}

// serveChat answers POST /v1/chat/completions.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	cfg := s.cfg.Load()
	if !authorized(w, r, cfg, formatOpenAI) {
		return
	}
	bp, ok := readRequest(w, r, formatOpenAI)
	if !ok {
		return
	}
	req := getChatRequest()
	err := json.Unmarshal(*bp, req)
	putBuf(bp)
	if err != nil {
		putChatRequest(req)
		writeAPIError(w, formatOpenAI, openAIDecodeError(err), "")
		return
	}
	var ex exchange
	ok = ex.fromChat(w, cfg, req)
	putChatRequest(req)
	if ok {
		s.respond(w, r, cfg, &ex)
	}
}

// fromChat validates req like the real API and plans the answer.
func (ex *exchange) fromChat(w http.ResponseWriter, cfg *Config, req *chatRequest) bool {
	maxTokens := req.MaxTokens
	if req.MaxCompletionTokens.set {
		maxTokens = req.MaxCompletionTokens
	}
	var e apiError
	switch {
	case req.Model == "":
		e = badRequest("you must provide a model parameter", "", "")
	case req.Messages == nil:
		e = badRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
	case len(req.Messages) == 0:
		e = badRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array")
	case maxTokens.set && maxTokens.v < 1:
		e = badRequest("Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got "+
			strconv.Itoa(maxTokens.v)+" instead.", "max_tokens", "integer_below_min_value")
	default:
		lastUser, n, count := conversation(req.Messages, "")
		ex.init(formatOpenAI, PathChatCompletions)
		ex.model = req.Model
		ex.stream = req.Stream
		ex.includeUsage = req.Stream && req.StreamOptions.IncludeUsage
		ex.ans = planAnswer(req.Model, lastUser, cfg.answerTokens(), maxTokens.v)
		ex.inputTokens = estimateInputTokens(n, count)
		return true
	}
	writeAPIError(w, formatOpenAI, e, "")
	return false
}

func openAIDecodeError(err error) apiError {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return badRequest("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. "+
			"The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", "", "")
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return badRequest("Invalid type for '"+typ.Field+"': expected "+typ.Type.String()+", but got "+typ.Value+".", typ.Field, "invalid_type")
	}
	return badRequest("Invalid request: "+err.Error(), "", "")
}

// appendOpenAIUnary appends a chat.completion object.
func (ex *exchange) appendOpenAIUnary(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = ex.appendID(b)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, ex.created, 10)
	b = append(b, `,"model":`...)
	b = wirejson.AppendString(b, ex.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":"`...)
	b = ex.ans.appendText(b)
	b = append(b, `","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":`...)
	b = ex.appendOpenAIFinish(b)
	b = append(b, `}],"usage":`...)
	b = ex.appendOpenAIUsage(b)
	return append(b, `,"service_tier":"default","system_fingerprint":"fp_sim"}`...)
}

func (ex *exchange) appendOpenAIFinish(b []byte) []byte {
	if ex.ans.length {
		return append(b, `"length"`...)
	}
	return append(b, `"stop"`...)
}

func (ex *exchange) appendOpenAIUsage(b []byte) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(ex.inputTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(ex.ans.n), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(ex.inputTokens+ex.ans.n), 10)
	return append(b, `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},`+
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// OpenAI stream: every chunk is `data: <chat.completion.chunk>\n\n`, the
// stream ends with `data: [DONE]\n\n`.

// buildOpenAIChunkPrefix builds the part shared by every chunk, up to and
// including `"choices":[`.
func (ex *exchange) buildOpenAIChunkPrefix(b []byte) []byte {
	b = append(b, `data: {"id":"`...)
	b = ex.appendID(b)
	b = append(b, `","object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, ex.created, 10)
	b = append(b, `,"model":`...)
	b = wirejson.AppendString(b, ex.model)
	return append(b, `,"service_tier":"default","system_fingerprint":"fp_sim","choices":[`...)
}

func (ex *exchange) appendOpenAIChunkEnd(b []byte) []byte {
	if ex.includeUsage {
		return append(b, "],\"usage\":null}\n\n"...)
	}
	return append(b, "]}\n\n"...)
}

func (ex *exchange) appendOpenAIStart(b []byte) []byte {
	b = append(b, ex.pre...)
	b = append(b, `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`...)
	return ex.appendOpenAIChunkEnd(b)
}

func (ex *exchange) appendOpenAITokenOpen(b []byte) []byte {
	b = append(b, ex.pre...)
	return append(b, `{"index":0,"delta":{"content":"`...)
}

func (ex *exchange) appendOpenAITokenClose(b []byte) []byte {
	b = append(b, `"},"logprobs":null,"finish_reason":null}`...)
	return ex.appendOpenAIChunkEnd(b)
}

func (ex *exchange) appendOpenAIEnd(b []byte) []byte {
	b = append(b, ex.pre...)
	b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
	b = ex.appendOpenAIFinish(b)
	b = append(b, '}')
	b = ex.appendOpenAIChunkEnd(b)
	if ex.includeUsage {
		b = append(b, ex.pre...)
		b = append(b, `],"usage":`...)
		b = ex.appendOpenAIUsage(b)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

func (ex *exchange) appendOpenAIBroken(b []byte) []byte {
	b = append(b, ex.pre...)
	return append(b, "{\"index\":0,\"delta\":{\"content\":\"brok\n\n"...)
}

// serveModels answers GET /v1/models in OpenAI's list format, or in
// Anthropic's when the request carries an anthropic-version header.
func (s *Server) serveModels(w http.ResponseWriter, r *http.Request) {
	f := formatOpenAI
	if r.Header.Get("anthropic-version") != "" {
		f = formatAnthropic
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeAPIError(w, f, apiError{status: http.StatusMethodNotAllowed, typ: notFoundType(f),
			message: "Method Not Allowed (" + r.Method + " " + r.URL.Path + ")"}, "")
		return
	}
	if !authorized(w, r, s.cfg.Load(), f) {
		return
	}
	w.Header()["Content-Type"] = hdrJSON
	if f == formatAnthropic {
		_, _ = w.Write(anthropicModelList)
		return
	}
	_, _ = w.Write(openAIModelList)
}

// modelNames are the models /v1/models reports. The simulator answers
// any model name; these are only what a client that lists models sees.
var modelNames = []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "claude-3-5-haiku-latest", "claude-sonnet-4-20250514"}

var openAIModelList, anthropicModelList = func() ([]byte, []byte) {
	type oaModel struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	type anModel struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	oa := struct {
		Object string    `json:"object"`
		Data   []oaModel `json:"data"`
	}{Object: "list"}
	an := struct {
		Data    []anModel `json:"data"`
		HasMore bool      `json:"has_more"`
		FirstID string    `json:"first_id"`
		LastID  string    `json:"last_id"`
	}{}
	for _, m := range modelNames {
		oa.Data = append(oa.Data, oaModel{ID: m, Object: "model", Created: 1715367049, OwnedBy: "llmsim"})
		an.Data = append(an.Data, anModel{Type: "model", ID: m, DisplayName: m, CreatedAt: "2024-05-10T00:00:00Z"})
	}
	an.FirstID, an.LastID = modelNames[0], modelNames[len(modelNames)-1]
	a, _ := json.Marshal(oa)
	b, _ := json.Marshal(an)
	return a, b
}()
