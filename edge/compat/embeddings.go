package compat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
)

// PathEmbeddings is OpenAI's embeddings endpoint.
const PathEmbeddings = "/v1/embeddings"

// embeddings answers POST /v1/embeddings in OpenAI's shape through the
// gateway's Embed call: input as a string or an array of strings,
// dimensions, encoding_format "float" or "base64" (each vector's float32
// numbers, little-endian, in base64, as OpenAI sends them) and user, the
// caller's subject. Token ids are refused by name: the gateway embeds
// text.
func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, openAI, badMethod(r, http.MethodPost))
		return
	}
	body, aerr := readBody(w, r, h.maxBody)
	if aerr != nil {
		writeError(w, openAI, aerr)
		return
	}
	req, opts, aerr := decodeEmbeddings(body)
	if aerr == nil {
		aerr = h.embedTarget(r, req, opts.model)
	}
	if aerr != nil {
		writeError(w, openAI, aerr)
		return
	}
	ctx := outgoing(r)
	if t, ok := clientTimeout(r.Header); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	var hdr metadata.MD
	resp, err := h.client.Embed(ctx, req, grpc.Header(&hdr))
	copyRateLimitHeaders(w.Header(), hdr)
	if err != nil {
		e := fromError(err, hdr)
		if rest, ok := strings.CutPrefix(e.param, "inputs"); ok {
			e.param = "input" + rest // the contract's inputs are OpenAI's input
		}
		writeError(w, openAI, e)
		return
	}
	setGatewayHeaders(w.Header(), resp.GetRoute(), resp.GetVariant(), resp.GetProvider(), resp.GetModel(),
		resp.GetStep(), gatewayv1.ServedFrom_SERVED_FROM_FRESH, resp.GetCostUsd(), "")
	vectors := make([][]float32, len(resp.GetEmbeddings()))
	for i, e := range resp.GetEmbeddings() {
		vectors[i] = e.GetValues()
	}
	out := openaiwire.NewEmbeddingResponse(resp.GetModel(), vectors, opts.base64, int64(resp.GetUsage().GetInputTokens()))
	buf := bufPool.get()
	defer bufPool.put(buf)
	b, err := out.AppendJSON((*buf)[:0])
	if err != nil {
		writeError(w, openAI, &apiError{status: http.StatusInternalServerError, message: "cannot encode the embeddings: " + err.Error()})
		return
	}
	*buf = b
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// embedOptions is what an embeddings request asks besides the gateway
// request: the model field as sent, and base64 vectors.
type embedOptions struct {
	model  string
	base64 bool
}

// decodeEmbeddings translates an OpenAI embeddings request into the
// gateway's; its model field is resolved by [Handler.embedTarget].
func decodeEmbeddings(body []byte) (*gatewayv1.EmbedRequest, embedOptions, *apiError) {
	var in openaiwire.EmbeddingRequest
	if err := json.Unmarshal(body, &in); err != nil {
		if errors.Is(err, openaiwire.ErrEmbeddingInput) {
			return nil, embedOptions{}, badRequest("input", "input must be a string or an array of strings")
		}
		return nil, embedOptions{}, decodeError(err)
	}
	opts := embedOptions{model: in.Model}
	if in.Input.Tokens != nil {
		return nil, opts, badRequest("input", "input as token ids is not supported: the gateway embeds text, send strings")
	}
	switch in.EncodingFormat {
	case "", openaiwire.EncodingFloat:
	case openaiwire.EncodingBase64:
		opts.base64 = true
	default:
		return nil, opts, badRequest("encoding_format",
			"encoding_format must be \"float\" or \"base64\", not "+strconv.Quote(in.EncodingFormat))
	}
	req := &gatewayv1.EmbedRequest{Inputs: in.Input.Texts}
	if in.Dimensions != nil {
		req.Dimensions = new(clamp32(*in.Dimensions))
	}
	if in.User != "" {
		req.Caller = &gatewayv1.Caller{Subject: in.User}
	}
	return req, opts, nil
}

// embedTarget points req at what model names: a route, or a model
// override (see [Handler.resolve]).
func (h *Handler) embedTarget(r *http.Request, req *gatewayv1.EmbedRequest, model string) *apiError {
	route, override, aerr := h.resolve(r, model, "a configured embedding model")
	req.Route, req.Model = route, override
	return aerr
}
