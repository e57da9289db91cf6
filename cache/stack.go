package cache

// workStack is the stack a [Group]'s work starts with. The work is a
// provider call through the resilience policies, the HTTP client and its
// instrumentation, tens of frames deep; a new goroutine starts with a
// small stack, and growing it that deep, by doubling and copying each
// time with the whole chain of frames on it to adjust, costs several
// microseconds per call (about a tenth of the CPU of a cache miss in the
// gateway's profile).
const workStack = 32 << 10

// growStack grows the calling goroutine's stack to at least workStack at
// once, while it is still shallow and cheap to copy: its frame alone is
// half that size, and the runtime doubles a stack until the frame fits.
//
//go:noinline
func growStack() byte {
	var frame [workStack / 2]byte
	return frame[stackIndex%len(frame)]
}

// stackIndex is read by growStack so that the compiler keeps its frame.
var stackIndex int
