package openai

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// The Responses input decoded in one pass: encoding/json reads it as
// generic JSON with the rest of the request, and the functions below
// check its keys exactly and convert it to [InputItem] values, with the
// same errors as [ResponseInput.UnmarshalJSON]: a [FieldError] for an
// unknown key, a [TypeError] for a value of the wrong type, both with
// their path.

var (
	itemKeys = keysOf(reflect.TypeFor[InputItem]())
	partKeys = keysOf(reflect.TypeFor[InputPart]())
)

// jsonType is the JSON type of a generic value, as encoding/json names it
// in its errors.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	}
	return "object"
}

// inputFromAny converts a generic input.
func inputFromAny(v any) (ResponseInput, error) {
	switch x := v.(type) {
	case nil:
		return ResponseInput{}, nil
	case string:
		return ResponseInput{Text: x}, nil
	case []any:
		in := ResponseInput{Items: make([]InputItem, len(x))}
		for i, e := range x {
			field := "input[" + strconv.Itoa(i) + "]"
			m, ok := e.(map[string]any)
			if !ok {
				return ResponseInput{}, &TypeError{Field: field, Value: jsonType(e)}
			}
			if err := itemFromMap(m, field, &in.Items[i]); err != nil {
				return ResponseInput{}, err
			}
		}
		return in, nil
	}
	return ResponseInput{}, ErrInput
}

// itemFromMap converts one input item.
func itemFromMap(m map[string]any, field string, it *InputItem) error {
	var first firstError
	for k, v := range m {
		if _, ok := itemKeys[k]; !ok {
			first.add(k, &FieldError{Field: field + "." + k})
			continue
		}
		var err error
		switch k {
		case "type":
			it.Type, err = stringOf(v, field+".type")
		case "id":
			it.ID, err = stringOf(v, field+".id")
		case "status":
			it.Status, err = stringOf(v, field+".status")
		case "role":
			it.Role, err = stringOf(v, field+".role")
		case "phase":
			it.Phase, err = stringOf(v, field+".phase")
		case "call_id":
			it.CallID, err = stringOf(v, field+".call_id")
		case "name":
			it.Name, err = stringOf(v, field+".name")
		case "arguments":
			it.Arguments, err = stringOf(v, field+".arguments")
		case "content":
			it.Content, err = contentFromAny(v, field+".content")
		case "output":
			it.Output, err = contentFromAny(v, field+".output")
		case "parsed_arguments":
			it.ParsedArguments = rawOf(v)
		}
		first.add(k, err)
	}
	return first.err
}

// contentFromAny converts a content or output: nil for null.
func contentFromAny(v any, field string) (*InputContent, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return &InputContent{Text: x}, nil
	case []any:
		c := &InputContent{Parts: make([]InputPart, len(x))}
		for i, e := range x {
			pf := field + "[" + strconv.Itoa(i) + "]"
			m, ok := e.(map[string]any)
			if !ok {
				return nil, &TypeError{Field: pf, Value: jsonType(e)}
			}
			if err := partFromMap(m, pf, &c.Parts[i]); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	return nil, ErrInputContent
}

// partFromMap converts one content part.
func partFromMap(m map[string]any, field string, p *InputPart) error {
	var first firstError
	for k, v := range m {
		if _, ok := partKeys[k]; !ok {
			first.add(k, &FieldError{Field: field + "." + k})
			continue
		}
		var err error
		switch k {
		case "type":
			p.Type, err = stringOf(v, field+".type")
		case "text":
			p.Text, err = stringOf(v, field+".text")
		case "refusal":
			p.Refusal, err = stringOf(v, field+".refusal")
		case "image_url":
			p.ImageURL, err = stringOf(v, field+".image_url")
		case "file_id":
			p.FileID, err = stringOf(v, field+".file_id")
		case "detail":
			p.Detail, err = stringOf(v, field+".detail")
		case "file_data":
			p.FileData, err = stringOf(v, field+".file_data")
		case "file_url":
			p.FileURL, err = stringOf(v, field+".file_url")
		case "filename":
			p.Filename, err = stringOf(v, field+".filename")
		case "annotations":
			p.Annotations = rawOf(v)
		case "logprobs":
			p.Logprobs = rawOf(v)
		case "parsed":
			p.Parsed = rawOf(v)
		}
		first.add(k, err)
	}
	return first.err
}

// firstError keeps the error of the first key in sort order, so that an
// object with several faults is always refused for the same one, whatever
// the order a map is read in.
type firstError struct {
	key string
	err error
}

func (f *firstError) add(key string, err error) {
	if err != nil && (f.err == nil || key < f.key) {
		f.key, f.err = key, err
	}
}

// stringOf is a string field's value; null is "", as encoding/json reads
// it.
func stringOf(v any, field string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	}
	return "", &TypeError{Field: field, Value: jsonType(v)}
}

// emptyArray is the raw form of the empty arrays an answer's parts carry.
var emptyArray = json.RawMessage("[]")

// rawOf is a field kept raw, read and not used: JSON again.
func rawOf(v any) json.RawMessage {
	if a, ok := v.([]any); ok && len(a) == 0 {
		return emptyArray
	}
	b, err := json.Marshal(v)
	if err != nil { // generic JSON always encodes
		return nil
	}
	return b
}
