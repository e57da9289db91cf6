package providers

import "context"

// EmbedRequest is a provider-neutral embeddings request.
type EmbedRequest struct {
	// Model is the vendor's embedding model, e.g. "text-embedding-3-small".
	Model string
	// Inputs are the texts to embed, in order.
	Inputs []string
	// Dimensions, when positive, asks for vectors of this length (models
	// that can shorten their embeddings); 0 is the model's own length.
	Dimensions int
	// User is an opaque end-user identifier forwarded to vendors that
	// accept one.
	User string
}

// EmbedResponse is one vector per input.
type EmbedResponse struct {
	// Model is the model that answered, as the vendor reports it.
	Model string
	// Vectors are the inputs' embeddings, in the order of the inputs.
	Vectors [][]float32
	// Usage counts the tokens: InputTokens only.
	Usage Usage
}

// Embedder is implemented by backends whose vendor has an embeddings API
// (OpenAI and OpenAI-compatible hosts, the simulator). It is found by type
// assertion, through [EmbedderOf].
type Embedder interface {
	// Embed sends req and waits for its vectors.
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// EmbedCapability is implemented by an [Embedder] whose ability to embed
// depends on its settings: the simulator embeds only when it speaks
// OpenAI's wire format.
type EmbedCapability interface {
	// CanEmbed reports whether the backend, as configured, can embed.
	CanEmbed() bool
}

// EmbedderOf returns p as an [Embedder], or false when p cannot embed.
func EmbedderOf(p Provider) (Embedder, bool) {
	e, ok := p.(Embedder)
	if !ok {
		return nil, false
	}
	if c, ok := p.(EmbedCapability); ok && !c.CanEmbed() {
		return nil, false
	}
	return e, true
}
