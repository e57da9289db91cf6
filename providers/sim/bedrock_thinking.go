package sim

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// converseThinking is additionalModelRequestFields.thinking of a Converse
// request to a Claude model.
type converseThinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

// bedrockThinks reports whether a Bedrock model id or inference profile id
// names a Claude model with extended thinking (Claude 3.7 Sonnet and
// later).
func bedrockThinks(model string) bool {
	_, rest, ok := strings.Cut(model, "anthropic.claude-")
	if !ok {
		return false
	}
	for _, old := range []string{"v2", "instant", "3-haiku", "3-sonnet", "3-opus", "3-5-"} {
		if strings.HasPrefix(rest, old) {
			return false
		}
	}
	return true
}

// bedrockAdaptive reports whether a Claude model id names Claude 5 or
// later, which think adaptively and refuse a manual thinking budget.
func bedrockAdaptive(model string) bool {
	_, rest, _ := strings.Cut(model, "anthropic.claude-")
	family, version, ok := strings.Cut(rest, "-")
	if !ok || family == "" || family[0] < 'a' || family[0] > 'z' {
		return false
	}
	major, _, _ := strings.Cut(version, "-")
	return len(major) == 1 && major[0] >= '5' && major[0] <= '9'
}

// bedrockSignature is the signature the simulator gives a reasoning text;
// a reasoning block sent back must carry the one it was given.
func bedrockSignature(text string) string {
	return base64.StdEncoding.EncodeToString([]byte("sim-bedrock-signature:" + strconv.FormatUint(fnvAdd(fnvOffset, text), 16)))
}

// checkConverseThinking validates a Converse request's thinking the way
// Bedrock and Claude do: the extra field only for Claude models that
// think, a budget of at least 1,024 tokens below maxTokens, no forced tool
// and no temperature other than 1 while thinking, reasoning blocks sent
// back with the signature they were given, and, while thinking, an
// assistant turn with a tool call that starts with its reasoning. It
// reports whether thinking is on.
func checkConverseThinking(model string, req *converseRequest) (bool, error) {
	t := req.AdditionalModelRequestFields.Thinking
	if t != nil && !bedrockThinks(model) {
		return false, errString("Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and try again.")
	}
	on := t != nil && t.Type == "enabled"
	if t != nil {
		switch {
		case t.Type != "enabled" && t.Type != "disabled":
			return false, errString("The model returned the following errors: thinking.type: Input tag '" + t.Type + "' found using 'type' does not match any of the expected tags: 'disabled', 'enabled'")
		case on && bedrockAdaptive(model):
			return false, errString("The model returned the following errors: thinking.type: 'enabled' is not supported for this model; it thinks adaptively (use 'adaptive')")
		case on && t.BudgetTokens < 1024:
			return false, errString("The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
		case on && t.BudgetTokens >= req.InferenceConfig.MaxTokens:
			return false, errString("The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.")
		}
	}
	if on {
		if tc := req.ToolConfig; tc != nil {
			_, forcedAny := tc.ToolChoice["any"]
			_, forcedTool := tc.ToolChoice["tool"]
			if forcedAny || forcedTool {
				return false, errString("The model returned the following errors: Thinking may not be enabled when tool_choice forces tool use.")
			}
		}
		if tp := req.InferenceConfig.Temperature; tp != nil && *tp != 1 {
			return false, errString("The model returned the following errors: `temperature` may only be set to 1 when thinking is enabled.")
		}
	}
	for i, m := range req.Messages {
		calls := false
		for j, b := range m.Content {
			raw, ok := b["reasoningContent"]
			if !ok {
				if _, tu := b["toolUse"]; tu {
					calls = true
				}
				continue
			}
			if m.Role != "assistant" {
				return false, errString("The model returned the following errors: messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) + ": reasoning content is only allowed in assistant messages")
			}
			var rc struct {
				ReasoningText *struct {
					Text      string `json:"text"`
					Signature string `json:"signature"`
				} `json:"reasoningText"`
				RedactedContent []byte `json:"redactedContent"`
			}
			if err := json.Unmarshal(raw, &rc); err != nil {
				return false, errString("Malformed input request: messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) + ".reasoningContent: " + err.Error())
			}
			if rt := rc.ReasoningText; rt != nil && rt.Signature != bedrockSignature(rt.Text) {
				return false, errString("The model returned the following errors: messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) + ": Invalid `signature` in `thinking` block")
			}
		}
		if on && calls && m.Role == "assistant" && i == lastAssistant(req) {
			if _, first := m.Content[0]["reasoningContent"]; !first {
				return false, errString("The model returned the following errors: messages." + strconv.Itoa(i) + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.")
			}
		}
	}
	return on, nil
}

// lastAssistant is the index of the request's last assistant message, or
// -1.
func lastAssistant(req *converseRequest) int {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "assistant" {
			return i
		}
	}
	return -1
}

// thoughtFor is the simulator's reasoning about the last user text.
func thoughtFor(lastUser string) string {
	return "Considering: " + strings.TrimSuffix(strings.TrimSpace(lastUser), ".")
}

// reasoningJSON is the answer's reasoningContent block, or "".
func (a *bedrockAnswer) reasoningJSON() string {
	if a.thought == "" {
		return ""
	}
	text, _ := json.Marshal(a.thought)
	return `{"reasoningContent":{"reasoningText":{"text":` + string(text) + `,"signature":"` + bedrockSignature(a.thought) + `"}}}`
}

// reasoningDeltas are the answer's reasoning as ConverseStream delta
// payloads for block index 0: the text word by word, then the signature.
func (a *bedrockAnswer) reasoningDeltas() []string {
	if a.thought == "" {
		return nil
	}
	var out []string
	for _, w := range strings.SplitAfter(a.thought, " ") {
		text, _ := json.Marshal(w)
		out = append(out, `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":`+string(text)+`}}}`)
	}
	return append(out, `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"`+bedrockSignature(a.thought)+`"}}}`)
}
