package sim

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
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

// conversation summarises n turns, read through turn, for answer
// planning.
func conversation(n int, turn func(i int) (role, text string), system string) (lastUser string, contentBytes, count int) {
	contentBytes, count = len(system), n
	if system != "" {
		count++
	}
	last, lastText, lastUserText := -1, "", ""
	for i := range n {
		role, text := turn(i)
		contentBytes += len(text)
		if role == "user" {
			last, lastUserText = i, text
		}
		lastText = text
	}
	switch {
	case last >= 0:
		lastUser = lastUserText
	case n > 0:
		lastUser = lastText
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
