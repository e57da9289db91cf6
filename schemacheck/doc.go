// Package schemacheck checks JSON answers against JSON Schemas: the answer
// of a request that asked for a JSON Schema response format, and the
// arguments of a tool call against its tool's parameters.
//
// Schemas are compiled once with github.com/santhosh-tekuri/jsonschema/v6
// (draft 2020-12 unless the schema names another $schema) and kept, by the
// SHA-256 of their text, in a bounded [Cache]. A schema may refer only to
// itself: a $ref to any other document (a file, a URL) is an invalid
// schema, so that a caller's schema never makes the gateway read a file or
// call out. "format" is asserted (date, date-time, email, uri, uuid and the
// other formats the draft names): an answer's date must be a date.
//
// [Schema.Validate] reports an answer that is not JSON as [ErrNotJSON] and
// one that does not satisfy the schema as a [*MismatchError] naming the
// first failing location; [Mismatch] turns either into the
// providers.KindSchemaMismatch error that makes the attempt a failed one.
// [Schema.Example] builds a value that satisfies the schema, for the
// simulator and for tests.
package schemacheck
