package openai

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/wirejson"
)

// encode translates req into the Chat Completions JSON body. The caller owns
// one reference to the returned body and must release it.
//
// The body is written by hand rather than with encoding/json: the request
// is flat, the field order is fixed (golden files pin it) and this path runs
// for every request.
func (p *Provider) encode(req *providers.Request, stream bool) (*requestBody, error) {
	if req == nil {
		return nil, providers.Errorf(providers.KindBadRequest, p.name, "nil request")
	}
	if req.MaxTokens < 0 {
		return nil, providers.Errorf(providers.KindBadRequest, p.name, "max_tokens must not be negative")
	}
	for _, f := range []*float64{req.Temperature, req.TopP} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return nil, providers.Errorf(providers.KindBadRequest, p.name, "temperature and top_p must be finite numbers")
		}
	}
	body := getRequestBody()
	body.b = appendRequest(body.b, req, p.maxTokens, stream)
	return body, nil
}

// appendRequest appends the JSON body for req to b. maxTokensField is the
// wire name of req.MaxTokens. Floats must be finite.
func appendRequest(b []byte, req *providers.Request, maxTokensField string, stream bool) []byte {
	b = append(b, `{"model":`...)
	b = wirejson.AppendString(b, req.Model)
	b = append(b, `,"messages":[`...)
	for i, m := range req.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = wirejson.AppendString(b, string(m.Role))
		b = append(b, `,"content":`...)
		b = wirejson.AppendString(b, m.Content)
		b = append(b, '}')
	}
	b = append(b, ']')
	if req.MaxTokens > 0 {
		b = append(b, ',', '"')
		b = append(b, maxTokensField...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, int64(req.MaxTokens), 10)
	}
	if req.Temperature != nil {
		b = append(b, `,"temperature":`...)
		b = wirejson.AppendFloat(b, *req.Temperature)
	}
	if req.TopP != nil {
		b = append(b, `,"top_p":`...)
		b = wirejson.AppendFloat(b, *req.TopP)
	}
	if len(req.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range req.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = wirejson.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if req.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *req.Seed, 10)
	}
	if req.User != "" {
		b = append(b, `,"user":`...)
		b = wirejson.AppendString(b, req.User)
	}
	if stream {
		// Without include_usage OpenAI sends no usage at all on streams.
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}')
}

// Request and response buffers are pooled; very large ones are dropped
// rather than kept alive.
const maxPooledBytes = 1 << 20

var requestBodyPool = sync.Pool{New: func() any { return &requestBody{b: make([]byte, 0, 4096)} }}

// requestBody is a pooled, reference-counted request body. The encoder
// holds one reference, and every reader handed to net/http holds one until
// the transport closes it (which may happen after Client.Do returns, since
// the transport can still be writing when the response arrives). The buffer
// goes back to the pool when the last reference is released.
type requestBody struct {
	b    []byte
	refs atomic.Int32
}

func getRequestBody() *requestBody {
	body := requestBodyPool.Get().(*requestBody)
	body.b = body.b[:0]
	body.refs.Store(1)
	return body
}

// release drops one reference.
func (body *requestBody) release() {
	if body.refs.Add(-1) != 0 {
		return
	}
	if cap(body.b) <= maxPooledBytes {
		requestBodyPool.Put(body)
	}
}

// newReader returns a new reader over the body holding its own reference,
// or false if the body was already released.
func (body *requestBody) newReader() (io.ReadCloser, bool) {
	for {
		n := body.refs.Load()
		if n <= 0 {
			return nil, false
		}
		if body.refs.CompareAndSwap(n, n+1) {
			return &bodyReader{body: body}, true
		}
	}
}

var errBodyClosed = errors.New("openai: read of closed request body")

// bodyReader reads a requestBody. Close may be called concurrently with Read
// (HTTP/2 aborts a body from another goroutine), so both hold mu: the buffer
// is never returned to the pool while a Read copies from it.
type bodyReader struct {
	mu   sync.Mutex
	body *requestBody
	off  int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.body == nil {
		return 0, errBodyClosed
	}
	if r.off >= len(r.body.b) {
		return 0, io.EOF
	}
	n := copy(p, r.body.b[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	body := r.body
	r.body = nil
	r.mu.Unlock()
	if body != nil {
		body.release()
	}
	return nil
}

var readBufferPool sync.Pool // of *bytes.Buffer

// getReadBuffer returns an empty buffer for a response body, grown to
// sizeHint when the server announced a plausible Content-Length.
func getReadBuffer(sizeHint int64) *bytes.Buffer {
	buf, _ := readBufferPool.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	if sizeHint > 0 && sizeHint <= maxResponseBytes {
		buf.Grow(int(sizeHint) + bytes.MinRead)
	}
	return buf
}

func putReadBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBytes {
		return
	}
	buf.Reset()
	readBufferPool.Put(buf)
}
