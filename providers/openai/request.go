package openai

import (
	"bytes"
	"math"
	"sync"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/openai"
)

// encode translates req into the Chat Completions JSON body. The caller must
// release the returned body.
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
	t := getTranslation()
	defer putTranslation(t)
	t.fill(req, p.maxTokens, stream)
	if rich(req) {
		if err := p.fillRich(&t.r, req); err != nil {
			return nil, err
		}
	}
	body := getRequestBody()
	var err error
	body.b, err = t.r.AppendJSON(body.b)
	if err != nil {
		body.release()
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: p.name, Message: "cannot encode request", Err: err}
	}
	return body, nil
}

// translation is a pooled wire request with the values its pointers refer
// to, so that translating a request allocates nothing.
type translation struct {
	r         wire.ChatRequest
	maxTokens int64
	opts      wire.StreamOptions
}

var translationPool = sync.Pool{New: func() any { return new(translation) }}

func getTranslation() *translation { return translationPool.Get().(*translation) }

func putTranslation(t *translation) {
	msgs := t.r.Messages[:cap(t.r.Messages)]
	clear(msgs) // drop the references to the caller's strings
	if cap(msgs) > 256 {
		msgs = nil
	}
	*t = translation{r: wire.ChatRequest{Messages: msgs[:0]}}
	translationPool.Put(t)
}

// fill translates req. maxTokensField names the wire field of
// req.MaxTokens: "max_tokens" or "max_completion_tokens".
func (t *translation) fill(req *providers.Request, maxTokensField string, stream bool) {
	r := &t.r
	r.Model = req.Model
	for _, m := range req.Messages {
		r.Messages = append(r.Messages, wire.Message{Role: string(m.Role), Content: wire.TextContent(m.Content)})
	}
	if r.Messages == nil {
		r.Messages = []wire.Message{}
	}
	if req.MaxTokens > 0 {
		t.maxTokens = int64(req.MaxTokens)
		if maxTokensField == "max_tokens" {
			r.MaxTokens = &t.maxTokens
		} else {
			r.MaxCompletionTokens = &t.maxTokens
		}
	}
	r.Temperature, r.TopP, r.Seed = req.Temperature, req.TopP, req.Seed
	r.Stop = req.Stop
	r.User = req.User
	if stream {
		// Without include_usage OpenAI sends no usage at all on streams.
		r.Stream = true
		t.opts.IncludeUsage = true
		r.StreamOptions = &t.opts
	}
}

// Request and response buffers are pooled; very large ones are dropped
// rather than kept alive.
const maxPooledBytes = 1 << 20

var requestBodyPool = sync.Pool{New: func() any { return &requestBody{b: make([]byte, 0, 4096)} }}

// requestBody is a pooled buffer the request is encoded into. The request
// sent carries a copy (providers.NewPost), so the buffer goes back to the
// pool as soon as the request is built.
type requestBody struct{ b []byte }

func getRequestBody() *requestBody {
	body := requestBodyPool.Get().(*requestBody)
	body.b = body.b[:0]
	return body
}

// release returns the buffer to the pool.
func (body *requestBody) release() {
	if cap(body.b) <= maxPooledBytes {
		requestBodyPool.Put(body)
	}
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
