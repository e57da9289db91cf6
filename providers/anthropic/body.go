package anthropic

import (
	"bytes"
	"sync"
)

// Buffers larger than this are left to the garbage collector rather than
// pooled, so one huge prompt does not pin memory forever.
const maxPooledBytes = 1 << 20

var reqBufPool = sync.Pool{New: func() any { return new(reqBuf) }}

// reqBuf is a pooled buffer a request is encoded into. The request sent
// carries a copy (providers.NewPost), so the buffer goes back to the pool
// as soon as the request is built.
type reqBuf struct{ b []byte }

// getReqBuf returns an empty buffer.
func getReqBuf() *reqBuf {
	rb := reqBufPool.Get().(*reqBuf)
	rb.b = rb.b[:0]
	return rb
}

// release returns the buffer to the pool.
func (rb *reqBuf) release() {
	if cap(rb.b) <= maxPooledBytes {
		reqBufPool.Put(rb)
	}
}

var readBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getReadBuf returns an empty pooled buffer for reading a response body.
func getReadBuf() *bytes.Buffer {
	b := readBufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putReadBuf returns b to the pool. Nothing may refer to its bytes
// afterwards (encoding/json copies the strings it decodes).
func putReadBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBytes {
		readBufPool.Put(b)
	}
}
