package anthropic

import (
	"bytes"
	"encoding/json"
)

// wireType is a "type" value of the Messages API (an event, a content
// block, a delta or a response). Decoding it into a small integer instead
// of a string keeps the stream parser from allocating one string per event
// for a value it only compares.
type wireType uint8

// The type values this package acts on; any other value decodes to
// typeOther and is skipped.
const (
	typeAbsent wireType = iota // no "type" field, or null
	typeOther
	typeMessage
	typeError
	typeText
	typeTextDelta
	typeMessageStart
	typeMessageDelta
	typeMessageStop
	typeContentBlockStart
	typeContentBlockDelta
	typeContentBlockStop
	typePing
)

var wireTypes = map[string]wireType{
	"message":             typeMessage,
	"error":               typeError,
	"text":                typeText,
	"text_delta":          typeTextDelta,
	"message_start":       typeMessageStart,
	"message_delta":       typeMessageDelta,
	"message_stop":        typeMessageStop,
	"content_block_start": typeContentBlockStart,
	"content_block_delta": typeContentBlockDelta,
	"content_block_stop":  typeContentBlockStop,
	"ping":                typePing,
}

// lookupType maps a type name; unknown names are typeOther.
func lookupType(name string) wireType {
	if t, ok := wireTypes[name]; ok {
		return t
	}
	return typeOther
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *wireType) UnmarshalJSON(b []byte) error {
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		if v, ok := wireTypes[string(b[1:n-1])]; ok { // no allocation
			*t = v
		} else {
			*t = typeOther
		}
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var s string // escaped or not a string at all: the slow, strict path
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = lookupType(s)
	return nil
}
