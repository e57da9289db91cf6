// Package openai declares the OpenAI Chat Completions wire format once:
// the request, the chat.completion response, the chat.completion.chunk
// stream event, the error object and the tables of error types and codes.
// Beside it, the Responses API's request (decoded strictly: an unknown
// field is a [FieldError] naming its path), its response object and its
// typed stream events.
//
// The provider client (providers/openai), the simulator (providers/sim) and
// the OpenAI-compatible API of the gateway all read and write these types,
// so that the three cannot drift apart.
//
// Decoding uses encoding/json with the types' tags and a few custom
// decoders for the fields the API lets take two shapes (content is a
// string or an array of parts; stop is a string or an array). Encoding
// uses encoding/json too, except on the hot paths, where the Append
// functions write the same JSON by hand without reflection: their output
// is checked against encoding/json's in the tests.
//
// Content parts, tools and response formats are typed values with a Type
// discriminator, so that new kinds (images, tool calls, JSON Schema
// answers) are added here, in one place.
package openai
