package sim

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// chatRequestPool holds decoded requests. The simulator reads the model,
// the messages, the answer-length cap and the stream options; other fields
// (temperature, top_p, seed, …) are accepted and ignored, so they never
// change the answer.
var chatRequestPool = sync.Pool{New: func() any { return new(openaiwire.ChatRequest) }}

// maxPooledMessages bounds the message slice kept in a pooled request.
const maxPooledMessages = 256

func getChatRequest() *openaiwire.ChatRequest {
	req := chatRequestPool.Get().(*openaiwire.ChatRequest)
	msgs := req.Messages[:cap(req.Messages)]
	clear(msgs) // encoding/json decodes into old elements without zeroing them
	*req = openaiwire.ChatRequest{Messages: msgs[:0]}
	return req
}

func putChatRequest(req *openaiwire.ChatRequest) {
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
func (ex *exchange) fromChat(w http.ResponseWriter, cfg *Config, req *openaiwire.ChatRequest) bool {
	maxTokens := req.MaxTokens
	if req.MaxCompletionTokens != nil {
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
	case maxTokens != nil && *maxTokens < 1:
		e = badRequest("Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got "+
			strconv.FormatInt(*maxTokens, 10)+" instead.", "max_tokens", "integer_below_min_value")
	default:
		lastUser, n, count := conversation(len(req.Messages), func(i int) (string, string) {
			m := &req.Messages[i]
			return m.Role, m.Content.String()
		}, "")
		ex.init(formatOpenAI, PathChatCompletions)
		ex.model = req.Model
		ex.stream = req.Stream
		ex.includeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		ex.ans = planAnswer(req.Model, lastUser, cfg.answerTokens(), intOf(maxTokens))
		ex.inputTokens = estimateInputTokens(n, count) + openaiImageTokens*countOpenAIImages(req)
		ans := ex.ans
		if ex.openaiRich = planOpenAIRich(req, cfg, func() string { return string(ans.appendText(nil)) }); ex.openaiRich != nil {
			ex.ans = answer{n: len(ex.openaiRich.pieces)}
		}
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

// intOf is an optional count as an int, 0 when absent, clamped to the
// int32 range.
func intOf(v *int64) int {
	if v == nil {
		return 0
	}
	return int(max(min(*v, math.MaxInt32), math.MinInt32))
}

// openAIMeta is what every response object of the exchange repeats.
func (ex *exchange) openAIMeta() openaiwire.Meta {
	return openaiwire.Meta{ID: ex.id, Created: ex.created, Model: ex.model, ServiceTier: "default", SystemFingerprint: "fp_sim"}
}

// appendOpenAIUnary appends a chat.completion object.
func (ex *exchange) appendOpenAIUnary(b []byte) []byte {
	m := ex.openAIMeta()
	b = openaiwire.AppendCompletionHead(b, &m)
	if ex.openaiRich != nil {
		b = ex.openaiRich.appendOpenAIContent(b)
	} else {
		b = append(b, '"')
		b = ex.ans.appendText(b)
		b = append(b, '"')
	}
	u := ex.openAIUsage()
	return openaiwire.AppendCompletionTail(b, &m, ex.openAIFinish(), &u)
}

func (ex *exchange) openAIFinish() string {
	if ex.openaiRich != nil && len(ex.openaiRich.calls) > 0 {
		return openaiwire.FinishToolCalls
	}
	if ex.ans.length {
		return openaiwire.FinishLength
	}
	return openaiwire.FinishStop
}

// The simulator serves nothing from a prompt cache and produces neither
// audio nor reasoning: its token details are all zero.
var (
	zeroPromptDetails     openaiwire.PromptTokensDetails
	zeroCompletionDetails openaiwire.CompletionTokensDetails
)

func (ex *exchange) openAIUsage() openaiwire.Usage {
	return openaiwire.Usage{
		PromptTokens:            int64(ex.inputTokens),
		CompletionTokens:        int64(ex.ans.n),
		TotalTokens:             int64(ex.inputTokens + ex.ans.n),
		PromptTokensDetails:     &zeroPromptDetails,
		CompletionTokensDetails: &zeroCompletionDetails,
	}
}

// OpenAI stream: every chunk is `data: <chat.completion.chunk>\n\n`, the
// stream ends with `data: [DONE]\n\n`.

// buildOpenAIChunkPrefix builds the part shared by every chunk, up to and
// including `"choices":`.
func (ex *exchange) buildOpenAIChunkPrefix(b []byte) []byte {
	m := ex.openAIMeta()
	return openaiwire.AppendChunkHead(b, &m)
}

func (ex *exchange) appendOpenAIStart(b []byte) []byte {
	b = append(b, ex.pre...)
	b = append(b, openaiwire.ChoicesStart...)
	return openaiwire.AppendChunkTail(b, ex.includeUsage, nil)
}

func (ex *exchange) appendOpenAITokenOpen(b []byte) []byte {
	b = append(b, ex.pre...)
	return append(b, openaiwire.ChoicesDeltaOpen...)
}

// appendOpenAIRichPiece appends the chunk of the rich answer's piece i.
func (ex *exchange) appendOpenAIRichPiece(b []byte, i int) []byte {
	b = append(b, ex.pre...)
	b = ex.openaiRich.appendOpenAIPiece(b, i)
	return openaiwire.AppendChunkTail(b, ex.includeUsage, nil)
}

func (ex *exchange) appendOpenAITokenClose(b []byte) []byte {
	b = append(b, openaiwire.ChoicesDeltaClose...)
	return openaiwire.AppendChunkTail(b, ex.includeUsage, nil)
}

func (ex *exchange) appendOpenAIEnd(b []byte) []byte {
	b = append(b, ex.pre...)
	b = openaiwire.AppendFinishChoices(b, ex.openAIFinish())
	b = openaiwire.AppendChunkTail(b, ex.includeUsage, nil)
	if ex.includeUsage {
		b = append(b, ex.pre...)
		b = append(b, openaiwire.ChoicesNone...)
		u := ex.openAIUsage()
		b = openaiwire.AppendChunkTail(b, true, &u)
	}
	return append(b, openaiwire.DoneEvent...)
}

func (ex *exchange) appendOpenAIBroken(b []byte) []byte {
	b = append(b, ex.pre...)
	return append(b, "[{\"index\":0,\"delta\":{\"content\":\"brok\n\n"...)
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
var modelNames = []string{"gpt-5.4-mini", "gpt-5.4", "gpt-5.5", "claude-haiku-4-5", "claude-sonnet-5-5"}

var openAIModelList, anthropicModelList = func() ([]byte, []byte) {
	oa := make([]openaiwire.Model, len(modelNames))
	an := make([]anthropicwire.ModelInfo, len(modelNames))
	for i, m := range modelNames {
		oa[i] = openaiwire.NewModel(m, "llmsim", 1715367049)
		an[i] = anthropicwire.ModelInfo{Type: anthropicwire.TypeModel, ID: m, DisplayName: m, CreatedAt: "2024-05-10T00:00:00Z"}
	}
	a, _ := wirejson.Marshal(nil, openaiwire.NewModelList(oa))
	b, _ := wirejson.Marshal(nil, anthropicwire.NewModelList(an))
	return a, b
}()
