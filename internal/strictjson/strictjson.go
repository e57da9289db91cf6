// Package strictjson is the gateway's one strict JSON decoder, for
// configuration files, provider options and admin request bodies: an
// unknown field is an error, and so is anything after the one JSON value.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// ErrTrailingData is returned, alone, when the JSON value is followed by
// anything but white space.
var ErrTrailingData = errors.New("unexpected data after the JSON value")

// Decode decodes the one JSON value in data into v.
func Decode(data []byte, v any) error { return DecodeReader(bytes.NewReader(data), v) }

// DecodeReader decodes the one JSON value r holds into v.
func DecodeReader(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	return nil
}
