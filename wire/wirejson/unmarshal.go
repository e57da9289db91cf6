package wirejson

import (
	"encoding/json"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// Unmarshal decodes a vendor's JSON document into v with the results of
// encoding/json's Unmarshal, three to four times faster: encoding/json's
// scanner checks the whole document first (the faster decoder skips the
// fields v does not have without looking at their syntax), then
// github.com/goccy/go-json decodes it. A document that is not valid UTF-8
// is left to encoding/json, which replaces the bad bytes with U+FFFD where
// the faster decoder keeps them (and protobuf refuses such strings). A
// document either rejects is
// decoded again by encoding/json, so that errors read as they always
// have. The wire packages' FuzzUnmarshalAgrees holds the two decoders to
// the same results on the vendors' response types, which is all it is for:
// callers' requests stay with encoding/json (go-json drops a request's
// messages when their key is spelled "Messages", for one).
func Unmarshal(data []byte, v any) error {
	if utf8.Valid(data) && json.Valid(data) && gojson.Unmarshal(data, v) == nil {
		return nil
	}
	return json.Unmarshal(data, v)
}
