package sim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/schemacheck"
	geminiwire "github.com/careerpath/llmgateway/wire/gemini"
)

// PathGemini is the root of the Gemini API's model calls:
// POST {PathGemini}/{model}:generateContent and
// {PathGemini}/{model}:streamGenerateContent?alt=sse. It is also the Path
// of a [Fault] limited to Gemini calls.
const PathGemini = "/v1beta/models"

// Gemini answers: a request with tools whose last turn is the user's text
// (not function results), or whose functionCallingConfig mode is ANY,
// gets a call of the first allowed function with arguments built from its
// parameter schema by [schemacheck.Schema.Example]; a JSON answer is the
// example of responseJsonSchema (or responseSchema), or {"answer": text}
// without a schema; anything else is the deterministic text of [Text].
// usageMetadata counts the prompt like the other dialects and one word per
// output token.

// serveGemini answers POST /v1beta/models/{model}:{method}.
func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeGeminiError(w, http.StatusMethodNotAllowed, geminiwire.StatusInvalidArgument, "Method Not Allowed", "")
		return
	}
	model, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, PathGemini+"/"), ":")
	if !ok || model == "" || (method != "generateContent" && method != "streamGenerateContent") {
		writeGeminiError(w, http.StatusNotFound, geminiwire.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")", "")
		return
	}
	cfg := s.cfg.Load()
	if want := cfg.RequireAPIKey; want != "" {
		got := r.Header.Get("X-Goog-Api-Key")
		if a := r.Header.Get("Authorization"); got == "" && len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
			got = strings.TrimSpace(a[7:])
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeGeminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "API key not valid. Please pass a valid API key.", "", geminiwire.Detail{
				Type: geminiwire.TypeErrorInfo, Reason: geminiwire.ReasonAPIKeyInvalid, Domain: "googleapis.com"})
			return
		}
	}
	bp, ok := readRequest(w, r, formatOpenAI)
	if !ok {
		return
	}
	var req geminiwire.Request
	err := json.Unmarshal(*bp, &req)
	putBuf(bp)
	if err != nil {
		writeGeminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "Invalid JSON payload received. "+err.Error(), "")
		return
	}
	if len(req.Contents) == 0 {
		writeGeminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "* GenerateContentRequest.contents: contents is not specified", "")
		return
	}
	g := planGemini(cfg, model, &req)
	stream := method == "streamGenerateContent"
	s.stats.inFlight.Add(1)
	defer s.stats.inFlight.Add(-1)
	ctx := r.Context()
	f := s.matchFault(PathGemini)
	disconnectAt, malformed := -1, false
	if f != nil {
		switch f.kind {
		case faultHang:
			select {
			case <-ctx.Done():
			case <-s.done:
				abort(w, false)
			}
			return
		case faultStatus:
			writeGeminiStatus(w, f.Status, f.RetryAfter, model)
			return
		case faultContextLength:
			writeGeminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument,
				"The input token count ("+strconv.Itoa(1048576+g.input)+") exceeds the maximum number of tokens allowed (1048576).", f.RetryAfter)
			return
		case faultQuota:
			writeGeminiError(w, http.StatusTooManyRequests, geminiwire.StatusResourceExhausted,
				"You exceeded your current quota, please check your plan and billing details.", f.RetryAfter,
				geminiwire.Detail{Type: geminiwire.TypeQuotaFailure, Violations: []geminiwire.QuotaViolation{{QuotaID: "GenerateRequestsPerDayPerProjectPerModel"}}})
			return
		case faultMalformed:
			if f.Malformed == MalformedHTML {
				writeHTML(w)
				return
			}
			malformed = true
		case faultDisconnect:
			disconnectAt = f.DisconnectAfterTokens
		}
	}
	if !s.sleep(ctx, w, cfg.Latency) {
		return
	}
	if !stream {
		b, _ := json.Marshal(g.response(g.parts(), true))
		w.Header()["Content-Type"] = hdrJSON
		switch {
		case malformed:
			b = b[:len(b)/2]
		case disconnectAt >= 0:
			_, _ = w.Write(b[:len(b)/2])
			abort(w, true)
			return
		}
		_, _ = w.Write(b)
		return
	}
	s.stats.streams.Add(1)
	s.writeGeminiStream(w, r, cfg, g, disconnectAt, malformed)
}

// geminiAnswer is one planned answer.
type geminiAnswer struct {
	model, id string
	ans       answer
	input     int
	// call is the function to call; args its arguments.
	call string
	args json.RawMessage
	// json is a JSON answer, when one was asked for.
	json json.RawMessage
}

func planGemini(cfg *Config, model string, req *geminiwire.Request) *geminiAnswer {
	var system string
	if req.SystemInstruction != nil {
		system = req.SystemInstruction.Text()
	}
	results := false
	lastUser, n, count := conversation(len(req.Contents), func(i int) (string, string) {
		c := &req.Contents[i]
		results = false
		for _, p := range c.Parts {
			results = results || p.FunctionResponse != nil
		}
		return c.Role, c.Text()
	}, system)
	maxTokens := 0
	gc := req.GenerationConfig
	if gc != nil {
		maxTokens = gc.MaxOutputTokens
	}
	g := &geminiAnswer{model: model, ans: planAnswer(model, lastUser, cfg.answerTokens(), maxTokens), input: estimateInputTokens(n, count)}
	var buf [32]byte
	g.id = string(appendID(buf[:0], ""))
	mode, allowed := "", []string(nil)
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		mode, allowed = tc.FunctionCallingConfig.Mode, tc.FunctionCallingConfig.AllowedFunctionNames
	}
	if mode == geminiwire.ModeAny || (mode != geminiwire.ModeNone && !results) {
		for _, t := range req.Tools {
			for _, d := range t.FunctionDeclarations {
				if g.call == "" && (len(allowed) == 0 || contains(allowed, d.Name)) {
					g.call, g.args = d.Name, geminiExample(d.ParametersJSONSchema, d.Parameters, json.RawMessage(`{}`))
				}
			}
		}
	}
	if gc != nil && gc.ResponseMimeType == geminiwire.MimeJSON {
		text, _ := json.Marshal(map[string]string{"answer": string(g.ans.appendText(nil))})
		g.json = geminiExample(gc.ResponseJSONSchema, gc.ResponseSchema, text)
	}
	return g
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// geminiExample is the schema's example value, or fallback without a schema.
func geminiExample(schema, openAPISchema, fallback json.RawMessage) json.RawMessage {
	if len(schema) == 0 {
		schema = openAPISchema
	}
	if len(schema) == 0 {
		return fallback
	}
	s, err := schemacheck.Shared.Compile(schema)
	if err != nil {
		return fallback
	}
	return s.Example()
}

// parts is the whole answer's parts.
func (g *geminiAnswer) parts() []geminiwire.Part {
	switch {
	case g.call != "":
		return []geminiwire.Part{{FunctionCall: &geminiwire.FunctionCall{Name: g.call, Args: g.args}}}
	case g.json != nil:
		return []geminiwire.Part{{Text: string(g.json)}}
	}
	return []geminiwire.Part{{Text: string(g.ans.appendText(nil))}}
}

// outputTokens is the answer's length in tokens.
func (g *geminiAnswer) outputTokens() int {
	if g.call == "" && g.json == nil {
		return g.ans.n
	}
	return 1 + len(g.args)/4 + len(g.json)/4
}

// response is a GenerateContentResponse with parts; last adds the finish
// reason and the final usage.
func (g *geminiAnswer) response(parts []geminiwire.Part, last bool) *geminiwire.Response {
	c := geminiwire.Candidate{Content: &geminiwire.Content{Role: geminiwire.RoleModel, Parts: parts}}
	out := g.outputTokens()
	if last {
		c.FinishReason = geminiwire.FinishStop
		if g.ans.length && g.call == "" && g.json == nil {
			c.FinishReason = geminiwire.FinishMaxTokens
		}
	}
	return &geminiwire.Response{
		Candidates: []geminiwire.Candidate{c},
		UsageMetadata: &geminiwire.UsageMetadata{PromptTokenCount: int64(g.input), CandidatesTokenCount: int64(out),
			TotalTokenCount: int64(g.input + out)},
		ModelVersion: g.model,
		ResponseID:   g.id,
	}
}

// writeGeminiStream sends one event per word of a text answer (a call or
// a JSON answer in one event), the last with the finish reason.
func (s *Server) writeGeminiStream(w http.ResponseWriter, r *http.Request, cfg *Config, g *geminiAnswer, disconnectAt int, malformed bool) {
	h := w.Header()
	h["Content-Type"] = hdrEventStream
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(resp *geminiwire.Response) bool {
		b, _ := json.Marshal(resp)
		b = append(append([]byte("data: "), b...), "\r\n\r\n"...)
		if malformed {
			b = append([]byte("data: {\"candidates\": [{\"content\": {\"parts\": [{\"te"), "\r\n\r\n"...)
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	ctx := r.Context()
	if !s.sleep(ctx, w, cfg.TTFT) {
		return
	}
	if disconnectAt == 0 || malformed {
		if malformed {
			send(nil)
		}
		abort(w, true)
		return
	}
	if g.call != "" || g.json != nil {
		if disconnectAt > 0 {
			abort(w, true)
			return
		}
		send(g.response(g.parts(), true))
		return
	}
	toks := g.ans.tokens()
	var word []byte
	for i := range g.ans.n {
		if i > 0 && cfg.InterToken > 0 && !s.sleep(ctx, w, cfg.InterToken) {
			return
		}
		word = toks.appendNext(word[:0])
		if !send(g.response([]geminiwire.Part{{Text: string(word)}}, i+1 == g.ans.n)) {
			return
		}
		if i+1 == disconnectAt {
			abort(w, true)
			return
		}
	}
	if disconnectAt >= 0 {
		abort(w, true)
	}
}

// writeGeminiStatus writes the API's error for an HTTP status, as a fault
// injects it; a 429 carries RetryInfo.
func writeGeminiStatus(w http.ResponseWriter, status int, retryAfter, model string) {
	switch {
	case status == http.StatusTooManyRequests:
		delay := retryAfter
		if delay == "" {
			delay = "1"
		}
		writeGeminiError(w, status, geminiwire.StatusResourceExhausted,
			"Resource has been exhausted (e.g. check quota).", retryAfter,
			geminiwire.Detail{Type: geminiwire.TypeRetryInfo, RetryDelay: delay + "s"})
	case status == http.StatusServiceUnavailable:
		writeGeminiError(w, status, geminiwire.StatusUnavailable, "The model is overloaded. Please try again later.", retryAfter)
	case status == http.StatusUnauthorized:
		writeGeminiError(w, status, geminiwire.StatusUnauthenticated, "Request had invalid authentication credentials.", retryAfter)
	case status == http.StatusForbidden:
		writeGeminiError(w, status, geminiwire.StatusPermissionDenied, "Permission denied: Consumer does not have access to the model.", retryAfter)
	case status == http.StatusNotFound:
		writeGeminiError(w, status, geminiwire.StatusNotFound, "models/"+model+" is not found for API version v1beta.", retryAfter)
	case status == http.StatusGatewayTimeout:
		writeGeminiError(w, status, geminiwire.StatusDeadlineExceeded, "Deadline expired before operation could complete.", retryAfter)
	case status >= 500:
		writeGeminiError(w, status, geminiwire.StatusInternal, "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", retryAfter)
	default:
		writeGeminiError(w, status, geminiwire.StatusInvalidArgument, "Simulated invalid request.", retryAfter)
	}
}

// writeGeminiError writes a google.rpc status body.
func writeGeminiError(w http.ResponseWriter, status int, name, message, retryAfter string, details ...geminiwire.Detail) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	_, _ = w.Write(geminiwire.NewError(status, name, message, details...))
}
