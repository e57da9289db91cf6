// Package stack grows a goroutine's stack ahead of deep work.
//
// A new goroutine starts with a small stack. Work as deep as one of the
// gateway's calls (the interceptor chain, the resilience policies, the
// HTTP client and its instrumentation: tens of frames) grows it by
// doubling, copying the stack and adjusting every frame on it each time;
// in the gateway's CPU profile that was about a tenth of a cache miss.
// [Grow], called while the goroutine is still shallow, does it in one
// cheap step.
package stack

// Size is the stack [Grow] makes room for.
const Size = 32 << 10

// Grow grows the calling goroutine's stack to at least [Size] at once:
// its frame alone is half that, and the runtime doubles a stack until
// the frame fits. It returns a byte so that the compiler keeps the frame.
//
//go:noinline
func Grow() byte {
	var frame [Size / 2]byte
	return frame[index%len(frame)]
}

// index is read by Grow so that the compiler keeps its frame.
var index int
