package anthropic

import (
	"bytes"
	"encoding/json"
)

// Type is a "type" value: of an event, a content block, a delta, a
// response or an error. Known names decode to the constants below without
// allocating.
type Type string

// Response, event and error types.
const (
	TypeMessage           Type = "message"
	TypeError             Type = "error"
	TypeMessageStart      Type = "message_start"
	TypeMessageDelta      Type = "message_delta"
	TypeMessageStop       Type = "message_stop"
	TypeContentBlockStart Type = "content_block_start"
	TypeContentBlockDelta Type = "content_block_delta"
	TypeContentBlockStop  Type = "content_block_stop"
	TypePing              Type = "ping"
)

// Content block types.
const (
	BlockText             Type = "text"
	BlockImage            Type = "image"
	BlockThinking         Type = "thinking"
	BlockRedactedThinking Type = "redacted_thinking"
	BlockToolUse          Type = "tool_use"
	BlockToolResult       Type = "tool_result"
)

// Delta types of content_block_delta events.
const (
	DeltaText      Type = "text_delta"
	DeltaInputJSON Type = "input_json_delta"
	DeltaThinking  Type = "thinking_delta"
	DeltaSignature Type = "signature_delta"
)

var knownTypes = func() map[string]Type {
	m := make(map[string]Type)
	for _, t := range []Type{TypeMessage, TypeError, TypeMessageStart, TypeMessageDelta, TypeMessageStop,
		TypeContentBlockStart, TypeContentBlockDelta, TypeContentBlockStop, TypePing,
		BlockText, BlockImage, BlockThinking, BlockRedactedThinking, BlockToolUse, BlockToolResult,
		DeltaText, DeltaInputJSON, DeltaThinking, DeltaSignature} {
		m[string(t)] = t
	}
	for _, t := range errorTypes {
		m[t.typ] = Type(t.typ)
	}
	return m
}()

// LookupType returns the constant for a known name, or the name itself.
func LookupType(name string) Type {
	if t, ok := knownTypes[name]; ok {
		return t
	}
	return Type(name)
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Type) UnmarshalJSON(b []byte) error {
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		if v, ok := knownTypes[string(b[1:n-1])]; ok { // no allocation
			*t = v
			return nil
		}
	}
	if string(b) == "null" {
		*t = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = LookupType(s)
	return nil
}
