package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	openaiwire "github.com/careerpath/llmgateway/wire/openai"
)

// PathEmbeddings is OpenAI's embeddings endpoint, which the simulator
// serves and a [Fault] can be limited to.
const PathEmbeddings = "/v1/embeddings"

// Embedding lengths of the simulator's models: what OpenAI's models give
// without dimensions.
const (
	dimsLarge   = 3072 // text-embedding-3-large
	dimsDefault = 1536 // text-embedding-3-small, text-embedding-ada-002 and any other model
)

// modelDimensions is the full embedding length of model, and whether it
// can shorten its embeddings (text-embedding-3 and later can;
// text-embedding-ada-002 cannot).
func modelDimensions(model string) (int, bool) {
	switch {
	case strings.HasPrefix(model, "text-embedding-3-large"):
		return dimsLarge, true
	case strings.HasPrefix(model, "text-embedding-ada"):
		return dimsDefault, false
	}
	return dimsDefault, true
}

// Embedding is the simulator's embedding of text by model, of length
// dims (the model's own when 0): a deterministic vector derived from
// SHA-256 of the model and the text, of unit length. Shortening follows
// OpenAI's: the first dims numbers of the full vector, normalised again,
// so that a shortened embedding points the way of the full one.
func Embedding(model, text string, dims int) []float32 {
	full, _ := modelDimensions(model)
	if dims <= 0 || dims > full {
		dims = full
	}
	v := make([]float32, dims)
	seed := sha256.Sum256([]byte(model + "\x00" + text))
	var block [sha256.Size + 4]byte
	copy(block[:], seed[:])
	var sum [sha256.Size]byte
	for i := range v {
		if i%8 == 0 {
			binary.BigEndian.PutUint32(block[sha256.Size:], uint32(i/8))
			sum = sha256.Sum256(block[:])
		}
		u := binary.BigEndian.Uint32(sum[4*(i%8):])
		v[i] = float32(float64(u)/math.MaxUint32*2 - 1)
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	norm = math.Sqrt(norm)
	if norm > 0 {
		for i := range v {
			v[i] = float32(float64(v[i]) / norm)
		}
	}
	return v
}

// serveEmbeddings answers POST /v1/embeddings as OpenAI does: one vector
// per input (see [Embedding]), as floats or base64, and a usage of one
// token per 4 bytes of input.
func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	cfg := s.cfg.Load()
	if !authorized(w, r, cfg, formatOpenAI) {
		return
	}
	bp, ok := readRequest(w, r, formatOpenAI)
	if !ok {
		return
	}
	var req openaiwire.EmbeddingRequest
	err := json.Unmarshal(*bp, &req)
	putBuf(bp)
	if err != nil {
		writeAPIError(w, formatOpenAI, openAIDecodeError(err), "")
		return
	}
	if e, bad := checkEmbeddingRequest(&req); bad {
		writeAPIError(w, formatOpenAI, e, "")
		return
	}
	tokens := 0
	for _, t := range req.Input.Texts {
		tokens += (len(t) + 3) / 4
	}
	ctx := r.Context()
	s.stats.inFlight.Add(1)
	defer s.stats.inFlight.Add(-1)
	f := s.matchFault(PathEmbeddings)
	if f != nil && f.kind == faultHang {
		select {
		case <-ctx.Done():
		case <-s.done:
			abort(w, false)
		}
		return
	}
	if !s.sleep(ctx, w, cfg.Latency) {
		return
	}
	malformed, disconnect := false, false
	if f != nil {
		switch f.kind {
		case faultStatus:
			writeAPIError(w, formatOpenAI, statusError(formatOpenAI, f.Status, req.Model), f.RetryAfter)
			return
		case faultContextLength:
			writeAPIError(w, formatOpenAI, contextLengthError(formatOpenAI, tokens), f.RetryAfter)
			return
		case faultQuota:
			writeAPIError(w, formatOpenAI, quotaError(formatOpenAI), f.RetryAfter)
			return
		case faultMalformed:
			if f.Malformed == MalformedHTML {
				writeHTML(w)
				return
			}
			malformed = true
		case faultDisconnect:
			disconnect = true
		}
	}
	dims := 0
	if req.Dimensions != nil {
		dims = int(*req.Dimensions)
	}
	vectors := make([][]float32, len(req.Input.Texts))
	for i, t := range req.Input.Texts {
		vectors[i] = Embedding(req.Model, t, dims)
	}
	out := openaiwire.NewEmbeddingResponse(req.Model, vectors, req.EncodingFormat == openaiwire.EncodingBase64, int64(tokens))
	b, err := out.AppendJSON(nil)
	if err != nil {
		writeAPIError(w, formatOpenAI, apiError{status: http.StatusInternalServerError, typ: openaiwire.TypeServer,
			message: "The server had an error while processing your request."}, "")
		return
	}
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h.Set("Content-Length", strconv.Itoa(len(b)))
	switch {
	case disconnect:
		_, _ = w.Write(b[:len(b)/2])
		abort(w, true)
		return
	case malformed:
		h.Del("Content-Length")
		b = b[:len(b)/2]
	}
	_, _ = w.Write(b)
}

// checkEmbeddingRequest refuses what OpenAI refuses: no model, no input,
// an empty string, more than 2048 inputs, token ids (the simulator embeds
// text only), a bad encoding_format, and dimensions out of the model's
// range or for a model that cannot shorten its embeddings.
func checkEmbeddingRequest(req *openaiwire.EmbeddingRequest) (apiError, bool) {
	full, shortens := modelDimensions(req.Model)
	switch {
	case req.Model == "":
		return badRequest("you must provide a model parameter", "", ""), true
	case req.Input.Tokens != nil:
		return badRequest("The simulator embeds text only; token ids are not supported.", "input", "invalid_value"), true
	case len(req.Input.Texts) == 0:
		return badRequest("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "input", ""), true
	case len(req.Input.Texts) > 2048:
		return badRequest("'$.input' is invalid: at most 2048 inputs per request.", "input", ""), true
	case req.EncodingFormat != "" && req.EncodingFormat != openaiwire.EncodingFloat && req.EncodingFormat != openaiwire.EncodingBase64:
		return badRequest("Invalid value for 'encoding_format': must be 'float' or 'base64'.", "encoding_format", "invalid_value"), true
	case req.Dimensions != nil && !shortens:
		return badRequest("This model does not support specifying dimensions.", "dimensions", ""), true
	case req.Dimensions != nil && (*req.Dimensions < 1 || *req.Dimensions > int64(full)):
		return badRequest("Invalid value for 'dimensions': must be between 1 and "+strconv.Itoa(full)+".", "dimensions", "invalid_value"), true
	}
	for _, t := range req.Input.Texts {
		if t == "" {
			return badRequest("'$.input' is invalid: an input must not be an empty string.", "input", ""), true
		}
	}
	return apiError{}, false
}
