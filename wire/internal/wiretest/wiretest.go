// Package wiretest checks the vendor wire packages against recorded
// bodies: each body decodes strictly (every field it carries is declared)
// and encodes back to the same JSON.
package wiretest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/careerpath/llmgateway/providers/sse"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// RoundTrip decodes body into a new value of v's type, refusing unknown
// fields, encodes it again with encoding/json and fails t unless the two
// JSON documents are equal, null members and absent ones counting as the
// same. It returns the decoded value.
func RoundTrip[T any](t testing.TB, name string, body []byte) *T {
	t.Helper()
	v := new(T)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: decode into %T: %v", name, v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encode %T: %v", name, v, err)
	}
	Equal(t, name, body, out)
	return v
}

// Equal fails t unless want and got are equal JSON documents, null
// members and absent ones counting as the same.
func Equal(t testing.TB, name string, want, got []byte) {
	t.Helper()
	w, g := normalize(t, name, want), normalize(t, name, got)
	if !reflect.DeepEqual(w, g) {
		t.Errorf("%s: JSON differs\nwant %s\ngot  %s", name, compact(want), compact(got))
	}
}

func normalize(t testing.TB, name string, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", name, err, b)
	}
	return dropNulls(v)
}

// dropNulls removes the object members whose value is null.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i := range v {
			v[i] = dropNulls(v[i])
		}
	}
	return v
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// Event is one event of a recorded stream.
type Event struct {
	// Name is the event: line's value, empty when there is none.
	Name string
	// Data is the event's data.
	Data []byte
}

// Events reads the events of a recorded server-sent event stream with the
// gateway's own reader, up to its end or the point where it was cut.
func Events(t testing.TB, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	rd := sse.NewReader(f)
	var out []Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(ev.Data)) == 0 {
			continue
		}
		out = append(out, Event{Name: ev.Name, Data: bytes.Clone(ev.Data)})
	}
}

// Read reads a recorded body.
func Read(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Glob returns the paths of the recorded files matching pattern, failing
// t when there are none.
func Glob(t testing.TB, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no recorded files match %s", pattern)
	}
	return paths
}

// SameAsEncodingJSON fails t unless got, written by a hand-written
// encoder, is byte for byte what encoding/json writes for v (without HTML
// escaping, as the hand-written encoders write).
func SameAsEncodingJSON(t testing.TB, name string, v any, got []byte) {
	t.Helper()
	want, err := wirejson.Marshal(nil, v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: hand-written\n%s\nencoding/json\n%s", name, got, want)
	}
}
