package anthropic

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// Buffers larger than this are left to the garbage collector rather than
// pooled, so one huge prompt does not pin memory forever.
const maxPooledBytes = 1 << 20

var reqBufPool = sync.Pool{New: func() any { return new(reqBuf) }}

// reqBuf is a pooled request body. It is reference counted because
// net/http may still read (or re-read, through GetBody) a request body
// after the code that built it has moved on: the buffer goes back to the
// pool only when the sender and every body handed to the transport are
// done with it.
type reqBuf struct {
	b    []byte
	refs atomic.Int32
}

// getReqBuf returns an empty buffer holding one reference, the caller's.
func getReqBuf() *reqBuf {
	rb := reqBufPool.Get().(*reqBuf)
	rb.b = rb.b[:0]
	rb.refs.Store(1)
	return rb
}

// release drops one reference.
func (rb *reqBuf) release() {
	if rb.refs.Add(-1) == 0 && cap(rb.b) <= maxPooledBytes {
		reqBufPool.Put(rb)
	}
}

// newBody returns a reader over the buffer that holds a reference until it
// is closed. The caller must hold a reference itself.
func (rb *reqBuf) newBody() io.ReadCloser {
	rb.refs.Add(1)
	return &reqBody{rb: rb}
}

var errBodyClosed = errors.New("anthropic: request body closed")

// reqBody reads a reqBuf. The transport may call Close concurrently with
// Read, hence the mutex.
type reqBody struct {
	mu  sync.Mutex
	rb  *reqBuf
	off int
}

func (r *reqBody) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rb == nil {
		return 0, errBodyClosed
	}
	if r.off >= len(r.rb.b) {
		return 0, io.EOF
	}
	n := copy(p, r.rb.b[r.off:])
	r.off += n
	return n, nil
}

func (r *reqBody) Close() error {
	r.mu.Lock()
	rb := r.rb
	r.rb = nil
	r.mu.Unlock()
	if rb != nil {
		rb.release()
	}
	return nil
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
