// Package llmgateway is the root of the LLM gateway module. It embeds the
// contract's generated artefacts that the gateway serves, so that the
// binary always serves exactly what `make generate` produced in gen/.
package llmgateway

import _ "embed" // for the OpenAPI document

// OpenAPI is the OpenAPI (Swagger 2.0) document of the REST API, generated
// from proto/ by protoc-gen-openapiv2. The REST shim serves it at
// /openapi.json.
//
//go:embed gen/openapi/llmgateway/v1/gateway.swagger.json
var OpenAPI []byte
