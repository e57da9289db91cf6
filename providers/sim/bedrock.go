package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/careerpath/llmgateway/schemacheck"
	bedrockwire "github.com/careerpath/llmgateway/wire/bedrock"
)

// Bedrock Runtime paths: /model/{modelId}/converse and
// /model/{modelId}/converse-stream. Any SigV4 signature is accepted.
const (
	bedrockPrefix       = "/model/"
	bedrockConverse     = "/converse"
	bedrockConverseStrm = "/converse-stream"
)

// converseRequest is what the simulator reads of a Converse request.
type converseRequest struct {
	Messages []struct {
		Role    string                       `json:"role"`
		Content []map[string]json.RawMessage `json:"content"`
	} `json:"messages"`
	System          []map[string]json.RawMessage `json:"system"`
	InferenceConfig struct {
		MaxTokens   int      `json:"maxTokens"`
		Temperature *float64 `json:"temperature"`
	} `json:"inferenceConfig"`
	AdditionalModelRequestFields struct {
		Thinking *converseThinking `json:"thinking"`
	} `json:"additionalModelRequestFields"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec struct {
				Name        string `json:"name"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
		} `json:"tools"`
		ToolChoice map[string]struct {
			Name string `json:"name"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
}

// bedrockAnswer is a planned Converse answer: text, or one tool call,
// after the model's signed reasoning when thinking is on.
type bedrockAnswer struct {
	model                 string
	thought               string
	words                 []string
	length                bool
	toolName, toolID      string
	toolInput             json.RawMessage
	inputTokens, outputTk int
}

// serveBedrock answers the Converse and ConverseStream paths.
func (s *Server) serveBedrock(w http.ResponseWriter, r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, bedrockPrefix)
	if !ok {
		return false
	}
	var model string
	stream := false
	switch {
	case strings.HasSuffix(rest, bedrockConverseStrm):
		model, stream = strings.TrimSuffix(rest, bedrockConverseStrm), true
	case strings.HasSuffix(rest, bedrockConverse):
		model = strings.TrimSuffix(rest, bedrockConverse)
	default:
		return false
	}
	s.stats.other.Add(1)
	if r.Method != http.MethodPost {
		bedrockError(w, http.StatusMethodNotAllowed, "ValidationException", "Method not allowed.", "")
		return true
	}
	cfg := s.cfg.Load()
	var req converseRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: "+err.Error(), "")
		return true
	}
	if len(req.Messages) == 0 {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The provided request is not valid: messages must not be empty.", "")
		return true
	}
	a, err := planConverse(cfg, model, &req)
	if err != nil {
		bedrockError(w, http.StatusBadRequest, "ValidationException", err.Error(), "")
		return true
	}
	s.stats.inFlight.Add(1)
	defer s.stats.inFlight.Add(-1)
	ctx := r.Context()
	f := s.matchFault("")
	if f != nil && f.kind == faultHang {
		select {
		case <-ctx.Done():
		case <-s.done:
			abort(w, false)
		}
		return true
	}
	if !s.sleep(ctx, w, cfg.Latency) {
		return true
	}
	disconnectAt := -1
	if f != nil {
		switch f.kind {
		case faultStatus:
			name, msg := bedrockException(f.Status)
			bedrockError(w, f.Status, name, msg, f.RetryAfter)
			return true
		case faultContextLength:
			bedrockError(w, http.StatusBadRequest, "ValidationException", "Input is too long for requested model.", f.RetryAfter)
			return true
		case faultQuota:
			bedrockError(w, http.StatusTooManyRequests, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account.", f.RetryAfter)
			return true
		case faultMalformed:
			writeHTML(w)
			return true
		case faultDisconnect:
			disconnectAt = f.DisconnectAfterTokens
		}
	}
	w.Header().Set("X-Amzn-Requestid", string(appendID(nil, "sim-")))
	if stream {
		s.stats.streams.Add(1)
		s.writeConverseStream(w, r, cfg, a, disconnectAt)
		return true
	}
	body := a.converseJSON()
	w.Header()["Content-Type"] = hdrJSON
	if disconnectAt >= 0 {
		_, _ = w.Write(body[:len(body)/2])
		abort(w, true)
		return true
	}
	_, _ = w.Write(body)
	return true
}

// planConverse decides the answer: a tool call when the tool choice
// forces one, or when tools are offered and the last turn is not a tool
// result; else the simulator's deterministic text.
func planConverse(cfg *Config, model string, req *converseRequest) (bedrockAnswer, error) {
	a := bedrockAnswer{model: model}
	var lastUser string
	contentBytes, toolResult := 0, false
	for _, b := range req.System {
		contentBytes += len(b["text"])
	}
	for _, m := range req.Messages {
		toolResult = false
		for _, b := range m.Content {
			contentBytes += len(b["text"])
			if t, ok := b["text"]; ok && m.Role == "user" {
				_ = json.Unmarshal(t, &lastUser)
			}
			if _, ok := b["toolResult"]; ok {
				toolResult = true
			}
		}
	}
	a.inputTokens = estimateInputTokens(contentBytes, len(req.Messages))
	thinking, err := checkConverseThinking(model, req)
	if err != nil {
		return a, err
	}
	if thinking {
		a.thought = thoughtFor(lastUser)
		a.outputTk = len(strings.Fields(a.thought))
	}
	if tc := req.ToolConfig; tc != nil && len(tc.Tools) > 0 {
		_, anyTool := tc.ToolChoice["any"]
		forced, named := tc.ToolChoice["tool"]
		if named || anyTool || !toolResult {
			i := 0
			if named {
				i = -1
				for j, t := range tc.Tools {
					if t.ToolSpec.Name == forced.Name {
						i = j
					}
				}
				if i < 0 {
					return a, errString("The tool choice names a tool that is not in toolConfig.tools: " + forced.Name)
				}
			}
			spec := tc.Tools[i].ToolSpec
			schema := spec.InputSchema.JSON
			if len(schema) == 0 {
				schema = json.RawMessage(`{"type":"object"}`)
			}
			cs, err := schemacheck.Shared.Compile(schema)
			if err != nil {
				return a, errString("The input schema of tool " + spec.Name + " is not valid: " + err.Error())
			}
			a.toolName, a.toolInput = spec.Name, cs.Example()
			a.toolID = "tooluse_" + strconv.FormatUint(fnvAdd(fnvOffset, spec.Name+lastUser)&0xffffffffff, 36)
			a.outputTk += (len(a.toolInput) + 3) / 4
			return a, nil
		}
	}
	text := Text(model, lastUser, cfg.AnswerTokens, req.InferenceConfig.MaxTokens)
	a.words = strings.SplitAfter(text, " ")
	n := cfg.AnswerTokens
	if n <= 0 {
		n = DefaultAnswerTokens
	}
	a.length = req.InferenceConfig.MaxTokens > 0 && req.InferenceConfig.MaxTokens < n
	a.outputTk += len(a.words)
	return a, nil
}

type errString string

func (e errString) Error() string { return string(e) }

func (a *bedrockAnswer) stopReason() string {
	switch {
	case a.toolName != "":
		return "tool_use"
	case a.length:
		return "max_tokens"
	}
	return "end_turn"
}

func (a *bedrockAnswer) usageJSON() string {
	return `{"inputTokens":` + strconv.Itoa(a.inputTokens) + `,"outputTokens":` + strconv.Itoa(a.outputTk) +
		`,"totalTokens":` + strconv.Itoa(a.inputTokens+a.outputTk) + `}`
}

func (a *bedrockAnswer) converseJSON() []byte {
	var content []byte
	if a.toolName != "" {
		name, _ := json.Marshal(a.toolName)
		content = []byte(`{"toolUse":{"toolUseId":"` + a.toolID + `","name":` + string(name) + `,"input":` + string(a.toolInput) + `}}`)
	} else {
		text, _ := json.Marshal(strings.Join(a.words, ""))
		content = []byte(`{"text":` + string(text) + `}`)
	}
	if r := a.reasoningJSON(); r != "" {
		content = append([]byte(r+","), content...)
	}
	return []byte(`{"output":{"message":{"role":"assistant","content":[` + string(content) + `]}},"stopReason":"` +
		a.stopReason() + `","usage":` + a.usageJSON() + `,"metrics":{"latencyMs":1}}`)
}

// writeConverseStream writes the answer as ConverseStream events; with
// disconnectAt >= 0 it drops the connection after that many tokens.
func (s *Server) writeConverseStream(w http.ResponseWriter, r *http.Request, cfg *Config, a bedrockAnswer, disconnectAt int) {
	w.Header().Set("Content-Type", bedrockwire.ContentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	ew := bedrockwire.NewWriter(w)
	send := func(typ, payload string) bool {
		if err := ew.Write(bedrockwire.Event{Type: typ, Payload: json.RawMessage(payload)}); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("messageStart", `{"role":"assistant"}`) || !s.sleep(r.Context(), w, cfg.TTFT) {
		return
	}
	var inter *time.Timer
	pause := func() bool {
		if cfg.InterToken <= 0 {
			return true
		}
		if inter == nil {
			inter = time.NewTimer(cfg.InterToken)
		} else {
			inter.Reset(cfg.InterToken)
		}
		return s.wait(r.Context(), w, inter)
	}
	defer func() {
		if inter != nil {
			inter.Stop()
		}
	}()
	// The reasoning, when there is some, is block 0 and the answer block 1.
	idx := "0"
	if deltas := a.reasoningDeltas(); len(deltas) > 0 {
		for _, d := range deltas {
			if !send("contentBlockDelta", d) || !pause() {
				return
			}
		}
		if !send("contentBlockStop", `{"contentBlockIndex":0}`) {
			return
		}
		idx = "1"
	}
	if a.toolName != "" {
		name, _ := json.Marshal(a.toolName)
		if !send("contentBlockStart", `{"contentBlockIndex":`+idx+`,"start":{"toolUse":{"toolUseId":"`+a.toolID+`","name":`+string(name)+`}}}`) {
			return
		}
		in := a.toolInput
		for i := 0; len(in) > 0; i++ {
			if disconnectAt >= 0 && i >= disconnectAt {
				abort(w, true)
				return
			}
			n := min(len(in), 16)
			frag, _ := json.Marshal(string(in[:n]))
			in = in[n:]
			if !send("contentBlockDelta", `{"contentBlockIndex":`+idx+`,"delta":{"toolUse":{"input":`+string(frag)+`}}}`) || !pause() {
				return
			}
		}
	} else {
		for i, word := range a.words {
			if disconnectAt >= 0 && i >= disconnectAt {
				abort(w, true)
				return
			}
			text, _ := json.Marshal(word)
			if !send("contentBlockDelta", `{"contentBlockIndex":`+idx+`,"delta":{"text":`+string(text)+`}}`) || !pause() {
				return
			}
		}
	}
	if disconnectAt >= 0 {
		abort(w, true)
		return
	}
	_ = send("contentBlockStop", `{"contentBlockIndex":`+idx+`}`) &&
		send("messageStop", `{"stopReason":"`+a.stopReason()+`"}`) &&
		send("metadata", `{"usage":`+a.usageJSON()+`,"metrics":{"latencyMs":1}}`)
}

// bedrockException names the exception Bedrock answers a status with.
func bedrockException(status int) (name, message string) {
	switch status {
	case http.StatusTooManyRequests:
		return "ThrottlingException", "Too many requests, please wait before trying again."
	case http.StatusServiceUnavailable, 529:
		return "ServiceUnavailableException", "Bedrock is unable to process your request."
	case http.StatusBadRequest:
		return "ValidationException", "The provided request is not valid."
	case http.StatusUnauthorized, http.StatusForbidden:
		return "AccessDeniedException", "You don't have access to the model with the specified model ID."
	case http.StatusNotFound:
		return "ResourceNotFoundException", "The specified model was not found."
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "ModelTimeoutException", "The model took too long to answer."
	}
	return "InternalServerException", "The server encountered an internal error while processing the request."
}

// bedrockError writes a Bedrock error reply: the exception's name in
// X-Amzn-ErrorType and {"message": ...} as the body.
func bedrockError(w http.ResponseWriter, status int, name, message, retryAfter string) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h.Set("X-Amzn-Errortype", name+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	var b bytes.Buffer
	msg, _ := json.Marshal(message)
	b.WriteString(`{"message":`)
	b.Write(msg)
	b.WriteString("}\n")
	_, _ = w.Write(b.Bytes())
}
