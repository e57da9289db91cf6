// Package sse reads Server-Sent Events framing (the text/event-stream format
// of the WHATWG HTML standard) and nothing else: it splits a byte stream into
// events with a name and data, leaving their meaning to each provider.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLineBytes bounds one line of the stream; a longer line is an error
// rather than unbounded buffering.
const MaxLineBytes = 4 << 20

// ErrLineTooLong is returned when a line exceeds [MaxLineBytes].
var ErrLineTooLong = errors.New("sse: line too long")

// Event is one dispatched event.
type Event struct {
	// Name is the event type from "event:" lines; empty means "message".
	Name string
	// Data is the event's data lines joined with "\n". It is only valid
	// until the next call to [Reader.Next].
	Data []byte
	// ID is the last "id:" value seen, if any.
	ID string
}

// Reader reads events from an event stream. It is not safe for concurrent
// use.
type Reader struct {
	r    *bufio.Reader
	data []byte
	name []byte
	id   string
	line []byte
	// first is true until the first line is read, to drop a UTF-8 BOM.
	first bool
	// names interns event names: a stream repeats a handful of them.
	names map[string]string
}

// maxInternedNames bounds the intern table against a hostile stream.
const maxInternedNames = 32

// intern returns name as a string, allocating only for names not seen
// before on this stream.
func (r *Reader) intern(name []byte) string {
	if len(name) == 0 {
		return ""
	}
	if s, ok := r.names[string(name)]; ok {
		return s
	}
	s := string(name)
	if len(r.names) < maxInternedNames {
		if r.names == nil {
			r.names = make(map[string]string, 8)
		}
		r.names[s] = s
	}
	return s
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 4096), first: true}
}

// Next returns the next event. It returns io.EOF when the stream ends
// cleanly between events; an event cut off by the end of the stream is
// discarded, as the standard requires, and io.ErrUnexpectedEOF is returned
// so that callers can tell a truncation from a clean end. Comment lines
// (starting with ':') are skipped; "retry:" and unknown fields are ignored.
func (r *Reader) Next() (Event, error) {
	r.data = r.data[:0]
	r.name = r.name[:0]
	hasData := false
	pending := false // saw any field line of the current event
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && pending {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !hasData {
				// A blank line with no data resets the event (standard:
				// "if the data buffer is empty, return").
				r.name = r.name[:0]
				pending = false
				continue
			}
			return Event{Name: r.intern(r.name), Data: r.data, ID: r.id}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte{':'})
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		pending = true
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.name = append(r.name[:0], value...)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.id = string(value)
			}
		}
	}
}

// readLine returns the next line without its terminator (LF or CRLF).
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		chunk, err := r.r.ReadSlice('\n')
		r.line = append(r.line, chunk...)
		if len(r.line) > MaxLineBytes {
			return nil, ErrLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if err == io.EOF && len(r.line) > 0 {
				// A final line without terminator is not a complete line;
				// report truncation through the caller's pending state.
				return r.finishLine(), nil
			}
			return nil, err
		}
		break
	}
	return r.finishLine(), nil
}

func (r *Reader) finishLine() []byte {
	line := r.line
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if r.first {
		r.first = false
		line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
	}
	return line
}
