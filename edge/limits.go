package edge

// Limits bound what one request may ask for.
type Limits struct {
	// MaxRequestBytes is the largest accepted request, as encoded protobuf.
	MaxRequestBytes int
	// MaxMessages is the most messages one request may carry.
	MaxMessages int
	// MaxTokens is the ceiling for params.max_tokens.
	MaxTokens int
	// MaxTools is the most tools one request may declare.
	MaxTools int
	// MaxSchemaBytes bounds each JSON Schema (a tool's parameters, the
	// response format's schema), as JSON text.
	MaxSchemaBytes int
	// MaxImageBytes bounds each image given inline (bytes or data: URL).
	// The request as a whole stays within MaxRequestBytes.
	MaxImageBytes int
	// MaxParts is the most parts one message may carry.
	MaxParts int
}

// DefaultLimits are the limits used when none are configured.
var DefaultLimits = Limits{MaxRequestBytes: 1 << 20, MaxMessages: 256, MaxTokens: 32768,
	MaxTools: DefaultMaxTools, MaxSchemaBytes: DefaultMaxSchemaBytes, MaxImageBytes: DefaultMaxImageBytes, MaxParts: DefaultMaxParts}
