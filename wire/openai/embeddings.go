package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The object values and encoding formats of the Embeddings API
// (POST /v1/embeddings).
const (
	ObjectEmbedding = "embedding"
	EncodingFloat   = "float"
	EncodingBase64  = "base64"
)

// EmbeddingRequest is an Embeddings request body (POST /v1/embeddings).
type EmbeddingRequest struct {
	Model string         `json:"model"`
	Input EmbeddingInput `json:"input"`
	// Dimensions, when set, asks text-embedding-3 and later models for
	// shorter vectors.
	Dimensions *int64 `json:"dimensions,omitempty"`
	// EncodingFormat is "float" (the default) or "base64": the vector's
	// float32 numbers, little-endian, in base64.
	EncodingFormat string `json:"encoding_format,omitempty"`
	// User is an opaque end-user identifier.
	User string `json:"user,omitempty"`
}

// EmbeddingInput is the input of an Embeddings request: one string or an
// array of strings, which Texts holds, or token ids (an array of integers
// or of integer arrays), which decode into Tokens as they were sent.
// Encoding writes Texts as an array.
type EmbeddingInput struct {
	Texts []string
	// Tokens is input given as token ids, raw; nil for text input.
	Tokens json.RawMessage
}

// MarshalJSON implements json.Marshaler.
func (in EmbeddingInput) MarshalJSON() ([]byte, error) {
	if in.Tokens != nil {
		return in.Tokens, nil
	}
	if in.Texts == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(in.Texts)
}

// ErrEmbeddingInput is the error of an input of no shape the API takes.
var ErrEmbeddingInput = errors.New("input must be a string, an array of strings, or token ids")

// UnmarshalJSON implements json.Unmarshaler.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*in = EmbeddingInput{}
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return ErrEmbeddingInput
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		in.Texts = []string{s}
		return nil
	case b[0] != '[':
		return ErrEmbeddingInput
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	texts := make([]string, 0, len(items))
	for _, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] != '"' {
			// Token ids: kept as sent, for the caller to refuse or pass on.
			var ids []int64
			var idLists [][]int64
			if json.Unmarshal(b, &ids) != nil && json.Unmarshal(b, &idLists) != nil {
				return ErrEmbeddingInput
			}
			in.Tokens = append(json.RawMessage(nil), b...)
			return nil
		}
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			return err
		}
		texts = append(texts, s)
	}
	in.Texts = texts
	return nil
}

// EmbeddingResponse is the answer of POST /v1/embeddings.
type EmbeddingResponse struct {
	Object string          `json:"object"`
	Data   []EmbeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  EmbeddingUsage  `json:"usage"`
}

// EmbeddingData is the vector of one input.
type EmbeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding Vector `json:"embedding"`
}

// EmbeddingUsage counts the input's tokens; embeddings have no output.
type EmbeddingUsage struct {
	PromptTokens int64 `json:"prompt_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// Vector is an embedding: an array of numbers, or with Base64 set the
// same float32 numbers, little-endian, as one base64 string (what
// encoding_format "base64" asks for). Decoding takes either form.
type Vector struct {
	Floats []float32
	Base64 bool
}

// MarshalJSON implements json.Marshaler.
func (v Vector) MarshalJSON() ([]byte, error) {
	if v.Base64 {
		return json.Marshal(EncodeBase64(v.Floats))
	}
	if v.Floats == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(v.Floats)
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Vector) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		fs, err := DecodeBase64(s)
		if err != nil {
			return err
		}
		*v = Vector{Floats: fs, Base64: true}
		return nil
	}
	var fs []float32
	if err := json.Unmarshal(b, &fs); err != nil {
		return err
	}
	*v = Vector{Floats: fs}
	return nil
}

// EncodeBase64 is fs as OpenAI's base64 encoding writes it: each float32
// in 4 bytes, little-endian, the whole in standard base64.
func EncodeBase64(fs []float32) string {
	return base64.StdEncoding.EncodeToString(float32Bytes(fs))
}

// float32Bytes is fs, each float32 in 4 bytes, little-endian.
func float32Bytes(fs []float32) []byte {
	raw := make([]byte, 4*len(fs))
	for i, f := range fs {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return raw
}

// DecodeBase64 reverses [EncodeBase64].
func DecodeBase64(s string) ([]float32, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("embedding: %w", err)
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("embedding: %d bytes is not a whole number of float32s", len(raw))
	}
	fs := make([]float32, len(raw)/4)
	for i := range fs {
		fs[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return fs, nil
}

// AppendJSON appends r as JSON, the same bytes as encoding/json writes,
// without reflection: an answer of 2048 vectors of 3072 numbers is
// written in one pass. A number that is not finite is an error, as in
// encoding/json.
func (r *EmbeddingResponse) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"object":`...)
	b = wirejson.AppendString(b, r.Object)
	b = append(b, `,"data":[`...)
	for i := range r.Data {
		d := &r.Data[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":`...)
		b = wirejson.AppendString(b, d.Object)
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(d.Index), 10)
		b = append(b, `,"embedding":`...)
		var err error
		if b, err = d.Embedding.appendJSON(b); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = wirejson.AppendString(b, r.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, r.Usage.PromptTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, r.Usage.TotalTokens, 10)
	return append(b, `}}`...), nil
}

// appendJSON appends v as [Vector.MarshalJSON] writes it.
func (v Vector) appendJSON(b []byte) ([]byte, error) {
	if v.Base64 {
		// Base64's alphabet needs no escaping in a JSON string.
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, float32Bytes(v.Floats))
		return append(b, '"'), nil
	}
	b = append(b, '[')
	for i, f := range v.Floats {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("embedding: number %d is not finite", i)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = wirejson.AppendFloat32(b, f)
	}
	return append(b, ']'), nil
}

// NewEmbeddingResponse is a list of vectors, in the order of the inputs.
func NewEmbeddingResponse(model string, vectors [][]float32, base64 bool, promptTokens int64) EmbeddingResponse {
	data := make([]EmbeddingData, len(vectors))
	for i, v := range vectors {
		data[i] = EmbeddingData{Object: ObjectEmbedding, Index: i, Embedding: Vector{Floats: v, Base64: base64}}
	}
	return EmbeddingResponse{Object: ObjectList, Data: data, Model: model,
		Usage: EmbeddingUsage{PromptTokens: promptTokens, TotalTokens: promptTokens}}
}
