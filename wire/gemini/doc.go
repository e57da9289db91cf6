// Package gemini declares Google's Gemini API wire format once: the
// generateContent request, the GenerateContentResponse (also each event of
// streamGenerateContent?alt=sse), the usage metadata and the google.rpc
// error body with its typed details (RetryInfo, ErrorInfo, BadRequest).
//
// The provider client (providers/gemini), the simulator (providers/sim) and
// a Gemini-compatible API read and write these types, so that they cannot
// drift apart. Field names are the API's JSON (lowerCamelCase) names.
package gemini
