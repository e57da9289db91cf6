package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/schemacheck"
	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// imageTokens is what the simulator counts for each image of a prompt, a
// typical count of a picture of about a megapixel.
const imageTokens = 1600

// richAnswer is an Anthropic answer that is more than one text block: tool
// calls, a JSON answer, thinking.
type richAnswer struct {
	blocks []anthropicwire.Block
	stop   string
	out    int
}

// planRich plans the rich answer to req, or returns nil for a plain text
// answer. A request with tools answers with tool_use blocks (the chosen
// tool, else the first; a second call to the next tool unless parallel use
// is disabled) whose input is built from the tool's schema, unless its
// last turn carries tool results and no tool is forced, or tool_choice is
// none. A structured-output request answers with JSON built from the
// schema. Thinking adds a signed thinking block first.
func planRich(req *anthropicwire.MessagesRequest, text string) (*richAnswer, *apiError) {
	var tools []anthropicwire.Tool
	if wirejson.InUse(req.Tools) {
		if err := json.Unmarshal(req.Tools, &tools); err != nil {
			e := badRequest("tools: Input should be a valid list of tools", "", "")
			return nil, &e
		}
	}
	var choice anthropicwire.ToolChoice
	if wirejson.InUse(req.ToolChoice) {
		if err := json.Unmarshal(req.ToolChoice, &choice); err != nil {
			e := badRequest("tool_choice: Input should be a valid tool choice", "", "")
			return nil, &e
		}
	}
	if e := checkToolPairs(req); e != nil {
		return nil, e
	}
	format := req.OutputConfig != nil && req.OutputConfig.Format != nil
	thinking := req.Thinking != nil && req.Thinking.Type == "enabled"
	if len(tools) == 0 && !format && !thinking {
		return nil, nil
	}
	ra := &richAnswer{stop: anthropicwire.StopEndTurn}
	if thinking {
		thought := "Considering: " + strings.TrimSuffix(text, ".")
		sig := base64.StdEncoding.EncodeToString([]byte("sim-signature:" + strconv.Itoa(len(thought))))
		ra.blocks = append(ra.blocks, anthropicwire.Block{Type: anthropicwire.BlockThinking, Thinking: thought, Signature: sig})
		ra.out += len(strings.Fields(thought))
	}
	byName := func(name string) int {
		for i := range tools {
			if tools[i].Name == name {
				return i
			}
		}
		return -1
	}
	forced := choice.Type == anthropicwire.ToolChoiceAny || choice.Type == anthropicwire.ToolChoiceTool
	call := len(tools) > 0 && choice.Type != anthropicwire.ToolChoiceNone && (forced || !answersToolResults(req))
	if call {
		first := 0
		if choice.Type == anthropicwire.ToolChoiceTool {
			if first = byName(choice.Name); first < 0 {
				e := badRequest("tool_choice.name: Tool '"+choice.Name+"' not found in tools", "", "")
				return nil, &e
			}
		}
		calls := []int{first}
		if !choice.DisableParallelToolUse && choice.Type != anthropicwire.ToolChoiceTool {
			calls = append(calls, (first+1)%len(tools))
		}
		for n, i := range calls {
			input, e := example(tools[i].InputSchema, "tools."+strconv.Itoa(i)+".input_schema")
			if e != nil {
				return nil, e
			}
			id := "toolu_01sim" + strconv.FormatUint(fnvAdd(fnvOffset, text+tools[i].Name)%1e12, 36) + strconv.Itoa(n)
			ra.blocks = append(ra.blocks, anthropicwire.Block{Type: anthropicwire.BlockToolUse, ID: id, Name: tools[i].Name, Input: input})
			ra.out += len(input)/4 + 1
		}
		ra.stop = anthropicwire.StopToolUse
		return ra, nil
	}
	if format {
		f := req.OutputConfig.Format
		if f.Type != anthropicwire.FormatJSONSchema {
			e := badRequest("output_config.format.type: Input should be 'json_schema'", "", "")
			return nil, &e
		}
		input, e := example(f.Schema, "output_config.format.schema")
		if e != nil {
			return nil, e
		}
		ra.blocks = append(ra.blocks, anthropicwire.Block{Type: anthropicwire.BlockText, Text: string(input)})
		ra.out += len(input)/4 + 1
		return ra, nil
	}
	ra.blocks = append(ra.blocks, anthropicwire.Block{Type: anthropicwire.BlockText, Text: text})
	ra.out += len(strings.Fields(text))
	return ra, nil
}

// checkToolPairs refuses a conversation whose tool calls and results do
// not pair up as the API requires: every tool_result answers a tool_use
// of the assistant turn just before it, and every tool_use of a turn
// followed by another is answered in that next turn.
func checkToolPairs(req *anthropicwire.MessagesRequest) *apiError {
	var calls []string
	for i := range req.Messages {
		m := &req.Messages[i]
		var results []string
		for j := range m.Content.Blocks {
			b := &m.Content.Blocks[j]
			if b.Type == anthropicwire.BlockToolResult {
				results = append(results, b.ToolUseID)
			}
		}
		for _, id := range results {
			if !slices.Contains(calls, id) {
				e := badRequest("messages."+strconv.Itoa(i)+".content: unexpected `tool_use_id` found in `tool_result` blocks: "+id+
					". Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", "", "")
				return &e
			}
		}
		for _, id := range calls {
			if !slices.Contains(results, id) {
				e := badRequest("messages."+strconv.Itoa(i)+": `tool_use` ids were found without `tool_result` blocks immediately after: "+id+
					". Each `tool_use` block must have a corresponding `tool_result` block in the next message.", "", "")
				return &e
			}
		}
		calls = calls[:0]
		if m.Role == anthropicwire.RoleAssistant {
			for j := range m.Content.Blocks {
				if b := &m.Content.Blocks[j]; b.Type == anthropicwire.BlockToolUse {
					calls = append(calls, b.ID)
				}
			}
		}
	}
	return nil
}

// answersToolResults reports whether the last turn carries tool results.
func answersToolResults(req *anthropicwire.MessagesRequest) bool {
	if len(req.Messages) == 0 {
		return false
	}
	last := &req.Messages[len(req.Messages)-1]
	for i := range last.Content.Blocks {
		if last.Content.Blocks[i].Type == anthropicwire.BlockToolResult {
			return true
		}
	}
	return false
}

// example is a value of schema, built by schemacheck's generator.
func example(schema json.RawMessage, field string) (json.RawMessage, *apiError) {
	if !wirejson.InUse(schema) {
		return json.RawMessage("{}"), nil
	}
	s, err := schemacheck.Shared.Compile(schema)
	if err != nil {
		e := badRequest(field+": JSON schema is invalid", "", "")
		return nil, &e
	}
	return s.Example(), nil
}

// countImages is the number of image blocks of req's messages.
func countImages(req *anthropicwire.MessagesRequest) int {
	n := 0
	for i := range req.Messages {
		for j := range req.Messages[i].Content.Blocks {
			if req.Messages[i].Content.Blocks[j].Type == anthropicwire.BlockImage {
				n++
			}
		}
	}
	return n
}

// appendRichUnary appends the message object of a rich answer.
func (ex *exchange) appendRichUnary(b []byte) []byte {
	c := ex.anthropicUsage(ex.rich.out)
	u := c.Usage()
	m := anthropicwire.Message{ID: ex.id, Type: anthropicwire.TypeMessage, Role: anthropicwire.RoleAssistant, Model: ex.model,
		Content: ex.rich.blocks, StopReason: ex.rich.stop, Usage: &u}
	out, err := wirejson.Marshal(b, &m)
	if err != nil {
		return append(b, `{}`...)
	}
	return out
}

// richEvents appends the stream events of a rich answer, one slice of
// bytes per content delta so that faults and pacing apply between them:
// every block is opened empty, filled by deltas (text word by word, tool
// input in fragments, thinking then its signature) and closed, as the API
// does.
func (ex *exchange) richEvents() (head []byte, deltas [][]byte, tail []byte) {
	c := ex.anthropicUsage(1)
	u := c.Usage()
	head = anthropicwire.AppendMessageStart(nil, ex.id, ex.model, &u)
	head = append(head, anthropicwire.PingEvent...)
	event := func(name string, v any) []byte {
		b := append([]byte("event: "), name...)
		b = append(b, "\ndata: "...)
		b, _ = wirejson.Marshal(b, v)
		return append(b, "\n\n"...)
	}
	type blockEvent struct {
		Type         anthropicwire.Type   `json:"type"`
		Index        int                  `json:"index"`
		ContentBlock *anthropicwire.Block `json:"content_block,omitempty"`
		Delta        *anthropicwire.Delta `json:"delta,omitempty"`
	}
	for i, blk := range ex.rich.blocks {
		start := blk
		switch blk.Type {
		case anthropicwire.BlockText:
			start.Text = ""
		case anthropicwire.BlockThinking:
			start.Thinking, start.Signature = "", ""
		case anthropicwire.BlockToolUse:
			start.Input = json.RawMessage("{}")
		}
		open := event("content_block_start", blockEvent{Type: anthropicwire.TypeContentBlockStart, Index: i, ContentBlock: &start})
		var pieces []anthropicwire.Delta
		switch blk.Type {
		case anthropicwire.BlockText:
			for _, w := range splitKeep(blk.Text, ' ') {
				pieces = append(pieces, anthropicwire.Delta{Type: anthropicwire.DeltaText, Text: w})
			}
		case anthropicwire.BlockThinking:
			pieces = append(pieces, anthropicwire.Delta{Type: anthropicwire.DeltaThinking, Thinking: blk.Thinking},
				anthropicwire.Delta{Type: anthropicwire.DeltaSignature, Signature: blk.Signature})
		case anthropicwire.BlockToolUse:
			pieces = append(pieces, anthropicwire.Delta{Type: anthropicwire.DeltaInputJSON, PartialJSON: ""})
			for _, f := range splitKeep(string(blk.Input), ',') {
				pieces = append(pieces, anthropicwire.Delta{Type: anthropicwire.DeltaInputJSON, PartialJSON: f})
			}
		}
		for j := range pieces {
			d := event("content_block_delta", blockEvent{Type: anthropicwire.TypeContentBlockDelta, Index: i, Delta: &pieces[j]})
			if j == 0 {
				d = append(open, d...)
			}
			deltas = append(deltas, d)
		}
		if len(pieces) == 0 {
			deltas = append(deltas, open)
		}
		last := &deltas[len(deltas)-1]
		*last = append(*last, event("content_block_stop", blockEvent{Type: anthropicwire.TypeContentBlockStop, Index: i})...)
	}
	out := int64(ex.rich.out)
	tail = anthropicwire.AppendMessageDelta(nil, ex.rich.stop, &anthropicwire.Usage{OutputTokens: &out})
	tail = append(tail, anthropicwire.MessageStopEvent...)
	return head, deltas, tail
}

// splitKeep splits s after every sep, keeping it: the pieces join to s.
func splitKeep(s string, sep byte) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// writeRichStream writes a rich answer's stream; faults and pacing work as
// for a text stream, counting deltas as tokens.
func (s *Server) writeRichStream(w http.ResponseWriter, r *http.Request, cfg *Config, ex *exchange, disconnectAt int, malformed bool) {
	h := w.Header()
	h["Content-Type"] = hdrEventStream
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	var buf bytes.Buffer
	send := func() bool {
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		buf.Reset()
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	head, deltas, tail := ex.richEvents()
	buf.Write(head)
	if malformed {
		buf.Write(appendAnthropicBroken(nil))
		buf.WriteString(anthropicwire.MessageStopEvent)
		send()
		return
	}
	ctx := r.Context()
	if cfg.TTFT > 0 || disconnectAt == 0 {
		if !send() {
			return
		}
		if disconnectAt == 0 {
			abort(w, true)
			return
		}
		if !s.sleep(ctx, w, cfg.TTFT) {
			return
		}
	}
	for i, d := range deltas {
		if i > 0 && cfg.InterToken > 0 && !s.sleep(ctx, w, cfg.InterToken) {
			return
		}
		buf.Write(d)
		if cfg.InterToken > 0 || i+1 == disconnectAt {
			if !send() {
				return
			}
		}
		if i+1 == disconnectAt {
			abort(w, true)
			return
		}
	}
	if disconnectAt >= 0 {
		send()
		abort(w, true)
		return
	}
	buf.Write(tail)
	send()
}
