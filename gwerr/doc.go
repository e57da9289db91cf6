// Package gwerr is the gateway's one error map: every error a call can
// end with (a refused request, a provider failure, a store outage, a
// routing or template problem, the caller's own cancellation) becomes a
// gRPC status in [Status], and nowhere else.
//
// Domain code returns domain errors: the typed errors of providers,
// routing and quota, or the small types declared here ([Error],
// [InvalidRequestError], [NotFoundError], [StoreError]). Each of this
// package's types implements GRPCStatus through [Status], so an error
// that reaches grpc-go unmapped still carries the right code.
//
// The ErrorInfo of every status names [Domain] and one of the Reason
// constants, which the compatible APIs compare against directly to pick
// their vendor's error shape.
package gwerr
