package console

import (
	"time"

	"google.golang.org/grpc/codes"
)

// Outcome is one finished call as the console counts it. It carries no
// prompt, answer, caller subject or key: only labels the configuration
// bounds (route, variant, provider, model, client name), numbers and
// timings.
type Outcome struct {
	// Time is when the call finished.
	Time time.Time
	// RPC is the method name (Complete, StreamComplete, …).
	RPC string
	// Route, Variant, Provider and Model say where the call went; Provider
	// and Model are who answered (a backup after a failover), empty for a
	// stale or degraded answer.
	Route, Variant, Provider, Model string
	// Client is the authenticated client's configured name.
	Client string
	// Code is the call's gRPC status code.
	Code codes.Code
	// Step is the failover step that answered: "primary", "backup",
	// "stale" or "degraded"; empty when the call failed.
	Step string
	// Cache is how the answer cache served the call: "hit", "stale",
	// "miss" or "off".
	Cache string
	// InputTokens and OutputTokens are the tokens the answer was billed.
	InputTokens, OutputTokens int64
	// CostNanos is what the answer cost, in nano-dollars.
	CostNanos int64
	// Latency is the call's duration; TTFT a stream's time to first token
	// (0 for unary calls).
	Latency, TTFT time.Duration
	// FailedAttempts counts attempts that failed before the answer.
	FailedAttempts int
}

// ok reports whether the call succeeded.
func (o *Outcome) ok() bool { return o.Code == codes.OK }
