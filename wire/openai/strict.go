package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// DecodeStrict decodes one JSON value into v, a pointer to a struct, and
// refuses any key of the value's object that v does not declare, as a
// [FieldError]. Keys are matched exactly, as the vendor's API matches
// them (encoding/json alone would also take "Model" for "model").
// Nested values are left to their types, whose decoders check their own
// keys.
func DecodeStrict(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	return checkKeys(data, keysOf(reflect.TypeOf(v).Elem()))
}

// knownKeys caches the JSON keys of each struct type.
var knownKeys sync.Map // reflect.Type → map[string]struct{}

// keysOf is the set of JSON keys struct type t declares, those of its
// embedded structs included.
func keysOf(t reflect.Type) map[string]struct{} {
	if k, ok := knownKeys.Load(t); ok {
		return k.(map[string]struct{})
	}
	keys := map[string]struct{}{}
	addKeys(t, keys)
	knownKeys.Store(t, keys)
	return keys
}

func addKeys(t reflect.Type, keys map[string]struct{}) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
		case f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
			addKeys(f.Type, keys)
		case !f.IsExported():
		case name != "":
			keys[name] = struct{}{}
		default:
			keys[f.Name] = struct{}{}
		}
	}
}

// checkKeys refuses the first key of the object data (valid JSON, as
// encoding/json has read it) that keys does not hold. A value that is
// not an object has no keys.
func checkKeys(data []byte, keys map[string]struct{}) error {
	var err error
	objectKeys(data, func(key []byte) bool {
		if _, ok := keys[string(key)]; !ok {
			err = &FieldError{Field: string(key)}
			return false
		}
		return true
	})
	return err
}

// objectKeys calls fn with each key of the object data, valid JSON,
// until fn returns false. The key is only valid during the call.
func objectKeys(data []byte, fn func(key []byte) bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] == '}' {
			return
		}
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		end := skipString(data, i)
		raw := data[i:end]
		key := raw[1 : len(raw)-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			var s string
			_ = json.Unmarshal(raw, &s)
			key = []byte(s)
		}
		if !fn(key) {
			return
		}
		i = skipSpace(data, end)
		i = skipValue(data, skipSpace(data, i+1)) // past the colon
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at i.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value that starts at i.
func skipValue(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			i = skipString(data, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		default:
			if depth == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				return i
			}
		}
		i++
	}
	return i
}

// arrayElems calls fn with the index and bytes of each element of the
// array data (valid JSON, as encoding/json has read it), until fn fails.
// A value that is not an array has no elements.
func arrayElems(data []byte, fn func(i int, elem []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil
	}
	i++
	for n := 0; ; n++ {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] == ']' {
			return nil
		}
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		end := skipValue(data, i)
		if err := fn(n, data[i:end]); err != nil {
			return err
		}
		i = end
	}
}
