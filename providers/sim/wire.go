package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// maxBodyBytes bounds a request body; a larger one is refused with 413.
const maxBodyBytes = 32 << 20

// errBodyTooLarge is returned by readBody past maxBodyBytes.
var errBodyTooLarge = errors.New("request body too large")

// bufPool holds byte buffers for request and response bodies. Buffers that
// grew past maxPooledBuf are dropped rather than pinned.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuf = 256 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// readBody reads r's body into *buf, growing it as needed.
func readBody(r *http.Request, buf *[]byte) error {
	b := (*buf)[:0]
	if n := r.ContentLength; n > 0 && n <= maxBodyBytes && int(n) > cap(b) {
		b = make([]byte, 0, n+1) // +1 so that the final Read sees EOF without growing
	}
	for {
		if len(b) == cap(b) {
			if len(b) >= maxBodyBytes {
				*buf = b
				return errBodyTooLarge
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			*buf = b
			return nil
		}
		if err != nil {
			*buf = b
			return err
		}
	}
}

// Shared header values; net/http only reads them.
var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream; charset=utf-8"}
	hdrNoCache     = []string{"no-cache"}
	hdrHTML        = []string{"text/html; charset=utf-8"}
)

// content is a message content that may be a JSON string or an array of
// content parts ([{"type":"text","text":"…"}], as both vendors accept); it
// keeps the concatenated text of the text parts.
type content string

func (c *content) UnmarshalJSON(data []byte) error {
	switch {
	case len(data) == 0 || data[0] == 'n': // null
		*c = ""
		return nil
	case data[0] == '"':
		// encoding/json has validated the whole document before calling
		// us, so a string without escapes is its bytes between the quotes.
		inner := data[1 : len(data)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*c = content(inner)
			return nil
		}
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*c = content(s)
		return nil
	case data[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(data, &parts); err != nil {
			return err
		}
		var s []byte
		for _, p := range parts {
			if p.Type == "text" || p.Type == "input_text" {
				s = append(s, p.Text...)
			}
		}
		*c = content(s)
		return nil
	default:
		return errors.New("content must be a string or an array of content parts")
	}
}

// optInt is an integer that remembers whether it was present.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*o = optInt{}
		return nil
	}
	v, err := strconv.Atoi(string(data))
	if err != nil {
		return errors.New("must be an integer")
	}
	*o = optInt{v: v, set: true}
	return nil
}

// message is one chat message in either wire format.
type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// conversation summarises messages for answer planning.
func conversation(msgs []message, system string) (lastUser string, contentBytes, count int) {
	contentBytes, count = len(system), len(msgs)
	if system != "" {
		count++
	}
	last := -1
	for i := range msgs {
		contentBytes += len(msgs[i].Content)
		if msgs[i].Role == "user" {
			last = i
		}
	}
	if last < 0 && len(msgs) > 0 {
		last = len(msgs) - 1
	}
	if last >= 0 {
		lastUser = string(msgs[last].Content)
	}
	return lastUser, contentBytes, count
}

// appendID appends prefix and 22 random base62 characters, unique enough
// for response ids without any shared state.
func appendID(dst []byte, prefix string) []byte {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	dst = append(dst, prefix...)
	for range 2 {
		u := rand.Uint64()
		for range 11 {
			dst = append(dst, alphabet[u%62])
			u /= 62
		}
	}
	return dst
}
