package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/openai"
)

// maxEmbedResponseBytes bounds an embeddings answer: 2048 vectors of 3072
// numbers, written as JSON, fit.
const maxEmbedResponseBytes = 128 << 20

// Embed sends req to BaseURL + "/embeddings" and waits for its vectors,
// asked for as floats. Settings.Timeout bounds the attempt.
func (p *Provider) Embed(ctx context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	w := wire.EmbeddingRequest{Model: req.Model, Input: wire.EmbeddingInput{Texts: req.Inputs},
		EncodingFormat: wire.EncodingFloat, User: req.User}
	if req.Dimensions > 0 {
		d := int64(req.Dimensions)
		w.Dimensions = &d
	}
	body, err := json.Marshal(&w)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: p.name, Message: "cannot encode request", Err: err}
	}
	actx := ctx
	if p.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, p.embedURL, bytes.NewReader(body))
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindBadRequest, Provider: p.name, Message: "cannot build request", Err: err}
	}
	for _, h := range p.headers {
		hreq.Header[h.name] = h.values
	}
	hreq.Header["Content-Type"] = jsonContentType
	hreq.Header["Accept"] = jsonContentType
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxEmbedResponseBytes+1))
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	if len(raw) > maxEmbedResponseBytes {
		return nil, p.malformed(resp.StatusCode, fmt.Sprintf("response body exceeds %d bytes", maxEmbedResponseBytes), nil)
	}
	return p.parseEmbeddings(raw, resp.StatusCode, len(req.Inputs))
}

// parseEmbeddings maps a 2xx embeddings list to a response with one
// vector per input, in the order of the inputs.
func (p *Provider) parseEmbeddings(body []byte, status, inputs int) (*providers.EmbedResponse, error) {
	var r wire.EmbeddingResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, p.malformed(status, "response is not an embeddings list", body)
	}
	if len(r.Data) != inputs {
		return nil, p.malformed(status, fmt.Sprintf("response has %d embeddings for %d inputs", len(r.Data), inputs), nil)
	}
	out := &providers.EmbedResponse{Model: r.Model, Vectors: make([][]float32, inputs),
		Usage: providers.Usage{InputTokens: r.Usage.PromptTokens}}
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= inputs || out.Vectors[d.Index] != nil {
			return nil, p.malformed(status, fmt.Sprintf("response has an embedding of index %d", d.Index), nil)
		}
		out.Vectors[d.Index] = d.Embedding.Floats
		if out.Vectors[d.Index] == nil {
			out.Vectors[d.Index] = []float32{}
		}
	}
	return out, nil
}

var _ providers.Embedder = (*Provider)(nil)
