// Package anthropic declares the Anthropic Messages API wire format once:
// the request, the message response, the stream events, the error body and
// the table of error types and their HTTP statuses.
//
// The provider client (providers/anthropic), the simulator (providers/sim)
// and the Anthropic-compatible API of the gateway all read and write these
// types, so that the three cannot drift apart.
//
// Content is a string or an array of typed blocks ([Block], with a [Type]
// discriminator): text today, with the fields of thinking, tool_use,
// tool_result and image blocks declared so that they are added here, in
// one place. [Type] values decode without allocating for the names this
// package knows, which keeps the stream parser cheap.
package anthropic
