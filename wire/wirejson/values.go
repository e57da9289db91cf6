package wirejson

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Marshal appends v as encoding/json encodes it, without HTML escaping, as
// the hand-written encoders write.
func Marshal(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), nil
}

// InUse reports whether a raw field asks for a feature: any value but
// absent, null, false, "" or an empty array or object.
func InUse(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	switch string(b) {
	case "", "null", "false", `""`:
		return false
	}
	empty := len(b) >= 2 && (b[0] == '[' || b[0] == '{') && len(bytes.TrimSpace(b[1:len(b)-1])) == 0
	return !empty
}

// UnmarshalStringOrArray decodes a value the vendors let be a string or an
// array (message content): a string into *text, an array into *items
// (non-nil even when empty), null into neither. Any other value is
// errNeither. data has been validated by encoding/json, so a string
// without escapes is taken as its bytes, without reflection.
func UnmarshalStringOrArray[T any](data []byte, text *string, items *[]T, errNeither error) error {
	switch {
	case len(data) == 0 || data[0] == 'n':
		return nil
	case data[0] == '"':
		if inner := data[1 : len(data)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*text = string(inner)
			return nil
		}
		return json.Unmarshal(data, text)
	case data[0] == '[':
		*items = []T{}
		return json.Unmarshal(data, items)
	}
	return errNeither
}

// JoinText joins the texts of the items that have one with newlines.
func JoinText[T any](items []T, text func(*T) (string, bool)) string {
	var b []byte
	n, only := 0, ""
	for i := range items {
		s, ok := text(&items[i])
		if !ok {
			continue
		}
		if n > 0 {
			if n == 1 {
				b = append(b, only...)
			}
			b = append(b, '\n')
			b = append(b, s...)
		}
		n, only = n+1, s
	}
	if n <= 1 {
		return only
	}
	return string(b)
}
