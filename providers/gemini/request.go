package gemini

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/gemini"
)

// SyntheticIDPrefix starts the ids the backend gives function calls that
// Gemini returned without one. Such ids are left out when the call and
// its result go back to the API.
const SyntheticIDPrefix = "gemini-call-"

// SyntheticID is the deterministic id of the index-th function call of an
// answer, named name with args: the same answer always gets the same ids.
func SyntheticID(index int, name string, args []byte) string {
	h := sha256.New()
	h.Write([]byte(strconv.Itoa(index)))
	h.Write([]byte{0})
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(args)
	return SyntheticIDPrefix + hex.EncodeToString(h.Sum(nil)[:8])
}

// wireID is the id to send for a call id: none for a synthetic one.
func wireID(id string) string {
	if strings.HasPrefix(id, SyntheticIDPrefix) {
		return ""
	}
	return id
}

// encode translates req into the JSON body of a generateContent call.
func (p *Provider) encode(req *providers.Request) ([]byte, error) {
	w, err := p.translate(req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: p.name, Message: "cannot encode request", Err: err}
	}
	return b, nil
}

func (p *Provider) refuse(format string, args ...any) error {
	return providers.Errorf(providers.KindBadRequest, p.name, format, args...)
}

// translate builds the wire request, refusing by name what the API cannot
// carry.
func (p *Provider) translate(req *providers.Request) (*wire.Request, error) {
	if req == nil {
		return nil, p.refuse("nil request")
	}
	if req.Model == "" {
		return nil, p.refuse("model is required")
	}
	if req.MaxTokens < 0 {
		return nil, p.refuse("max_tokens must not be negative")
	}
	for _, f := range []*float64{req.Temperature, req.TopP} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return nil, p.refuse("temperature and top_p must be finite numbers")
		}
	}
	if bad := providers.Unsupported(p, req); len(bad) > 0 {
		names := make([]string, len(bad))
		for i, f := range bad {
			names[i] = string(f)
		}
		return nil, p.refuse("gemini cannot honour %s", strings.Join(names, ", "))
	}
	w := &wire.Request{Contents: []wire.Content{}}
	// Names of the calls by id, for the functionResponse parts that must
	// name the function they answer.
	callNames := map[string]string{}
	for _, m := range req.Messages {
		for _, part := range m.Parts {
			if part.Kind == providers.PartToolCall && part.ToolCall != nil {
				callNames[part.ToolCall.ID] = part.ToolCall.Name
			}
		}
	}
	var system []wire.Part
	for i, m := range req.Messages {
		parts, err := p.parts(i, m, callNames)
		if err != nil {
			return nil, err
		}
		var role string
		switch m.Role {
		case providers.RoleSystem:
			system = append(system, parts...)
			continue
		case providers.RoleUser, providers.RoleTool:
			role = wire.RoleUser
		case providers.RoleAssistant:
			role = wire.RoleModel
		default:
			return nil, p.refuse("messages[%d].role %q is not supported", i, m.Role)
		}
		if len(parts) == 0 {
			continue
		}
		if n := len(w.Contents); n > 0 && w.Contents[n-1].Role == role {
			w.Contents[n-1].Parts = append(w.Contents[n-1].Parts, parts...)
			continue
		}
		w.Contents = append(w.Contents, wire.Content{Role: role, Parts: parts})
	}
	if len(system) > 0 {
		w.SystemInstruction = &wire.Content{Parts: system}
	}
	if len(req.Tools) > 0 {
		decls := make([]wire.FunctionDeclaration, len(req.Tools))
		for i, t := range req.Tools {
			decls[i] = wire.FunctionDeclaration{Name: t.Name, Description: t.Description, ParametersJSONSchema: t.Parameters}
		}
		w.Tools = []wire.Tool{{FunctionDeclarations: decls}}
	}
	if fc := functionCalling(req.ToolChoice); fc != nil {
		w.ToolConfig = &wire.ToolConfig{FunctionCallingConfig: fc}
	}
	gc := wire.GenerationConfig{
		StopSequences:   req.Stop,
		MaxOutputTokens: req.MaxTokens,
		Temperature:     req.Temperature,
		TopP:            req.TopP,
		Seed:            req.Seed,
	}
	switch req.ResponseFormat.Type {
	case providers.FormatJSONObject:
		gc.ResponseMimeType = wire.MimeJSON
	case providers.FormatJSONSchema:
		gc.ResponseMimeType = wire.MimeJSON
		gc.ResponseJSONSchema = req.ResponseFormat.Schema
	}
	if b := req.Reasoning.BudgetTokens; b > 0 {
		gc.ThinkingConfig = &wire.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: &b}
	}
	if gc.StopSequences != nil || gc.MaxOutputTokens != 0 || gc.Temperature != nil || gc.TopP != nil ||
		gc.Seed != nil || gc.ResponseMimeType != "" || gc.ThinkingConfig != nil {
		w.GenerationConfig = &gc
	}
	return w, nil
}

// functionCalling maps the tool choice; nil leaves it to the API.
func functionCalling(c providers.ToolChoice) *wire.FunctionCallingConfig {
	switch c.Mode {
	case providers.ToolChoiceAuto:
		return &wire.FunctionCallingConfig{Mode: wire.ModeAuto}
	case providers.ToolChoiceNone:
		return &wire.FunctionCallingConfig{Mode: wire.ModeNone}
	case providers.ToolChoiceRequired:
		return &wire.FunctionCallingConfig{Mode: wire.ModeAny}
	case providers.ToolChoiceTool:
		return &wire.FunctionCallingConfig{Mode: wire.ModeAny, AllowedFunctionNames: []string{c.Name}}
	}
	return nil
}

// parts translates the content of message i.
func (p *Provider) parts(i int, m providers.Message, callNames map[string]string) ([]wire.Part, error) {
	if m.Parts == nil {
		if m.Content == "" {
			return nil, nil
		}
		return []wire.Part{{Text: m.Content}}, nil
	}
	out := make([]wire.Part, 0, len(m.Parts))
	// A signature-only thinking part travels on the part after it.
	signature := ""
	for j, part := range m.Parts {
		var wp wire.Part
		switch part.Kind {
		case providers.PartText:
			wp.Text = part.Text
		case providers.PartImage:
			img := part.Image
			if img == nil {
				return nil, p.refuse("messages[%d].parts[%d].image is empty", i, j)
			}
			data, mt := img.Data, img.MediaType
			if img.URL != "" {
				var ok bool
				if data, mt, ok = dataURL(img.URL); !ok {
					return nil, p.refuse("messages[%d].parts[%d].image.url: gemini takes images inline only, not by URL", i, j)
				}
			}
			wp.InlineData = &wire.Blob{MimeType: mt, Data: data}
		case providers.PartToolCall:
			tc := part.ToolCall
			if tc == nil {
				return nil, p.refuse("messages[%d].parts[%d].tool_call is empty", i, j)
			}
			args := json.RawMessage(strings.TrimSpace(tc.Arguments))
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			if !json.Valid(args) || args[0] != '{' {
				return nil, p.refuse("messages[%d].parts[%d].tool_call.arguments is not a JSON object", i, j)
			}
			wp.FunctionCall = &wire.FunctionCall{ID: wireID(tc.ID), Name: tc.Name, Args: args}
		case providers.PartToolResult:
			tr := part.ToolResult
			if tr == nil {
				return nil, p.refuse("messages[%d].parts[%d].tool_result is empty", i, j)
			}
			name, ok := callNames[tr.ToolCallID]
			if !ok {
				return nil, p.refuse("messages[%d].parts[%d].tool_result.tool_call_id %q names no earlier tool call (gemini needs the function's name)", i, j, tr.ToolCallID)
			}
			wp.FunctionResponse = &wire.FunctionResponse{ID: wireID(tr.ToolCallID), Name: name, Response: resultObject(tr)}
		case providers.PartThinking:
			th := part.Thinking
			if th == nil {
				continue
			}
			if th.Redacted != "" {
				return nil, p.refuse("messages[%d].parts[%d].thinking.redacted: gemini has no redacted thinking", i, j)
			}
			if th.Text == "" {
				signature = th.Signature
				continue
			}
			wp.Text, wp.Thought, wp.ThoughtSignature = th.Text, true, th.Signature
		default:
			return nil, p.refuse("messages[%d].parts[%d]: unknown part kind %v", i, j, part.Kind)
		}
		if signature != "" && wp.ThoughtSignature == "" {
			wp.ThoughtSignature, signature = signature, ""
		}
		out = append(out, wp)
	}
	return out, nil
}

// resultObject is a tool result as the JSON object functionResponse
// needs: the content itself when it is an object, else wrapped under
// "result" (or "error" for a failed call).
func resultObject(tr *providers.ToolResult) json.RawMessage {
	c := bytes.TrimSpace([]byte(tr.Content))
	if !tr.IsError && len(c) > 0 && c[0] == '{' && json.Valid(c) {
		return c
	}
	key := "result"
	if tr.IsError {
		key = "error"
	}
	b, _ := json.Marshal(map[string]string{key: tr.Content})
	return b
}

// dataURL decodes a base64 data: URL.
func dataURL(u string) ([]byte, string, bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, "", false
	}
	meta, payload, ok := strings.Cut(rest, ",")
	mt, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 || mt == "" {
		return nil, "", false
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, "", false
	}
	return b, mt, true
}
