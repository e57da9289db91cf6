package edge

// Limits bound what one request may ask for.
type Limits struct {
	// MaxRequestBytes is the largest accepted request, as encoded protobuf.
	MaxRequestBytes int
	// MaxMessages is the most messages one request may carry.
	MaxMessages int
	// MaxTokens is the ceiling for params.max_tokens.
	MaxTokens int
}

// DefaultLimits are the limits used when none are configured.
var DefaultLimits = Limits{MaxRequestBytes: 1 << 20, MaxMessages: 256, MaxTokens: 32768}
