package server

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/routing"
)

// ErrorDomain is the ErrorInfo domain of every error the gateway returns.
const ErrorDomain = "llmgateway"

// FieldError is a request field that failed validation.
type FieldError struct {
	// Field is the path of the field, e.g. "messages[0].role".
	Field string
	// Description says what is wrong with it.
	Description string
}

// InvalidRequestError lists every field of a request that failed validation.
type InvalidRequestError struct {
	Violations []FieldError
}

func (e *InvalidRequestError) Error() string {
	var b strings.Builder
	b.WriteString("invalid request: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Description)
	}
	return b.String()
}

// Status maps any error the gateway produces to the gRPC status returned to
// the caller. It is the only place that does so: handlers and interceptors
// return domain errors and let this decide the code and the details.
//
// Provider failures carry an ErrorInfo (reason = the upstream error kind,
// metadata = the provider name) and, when the provider asked for a
// back-off, a RetryInfo. Our own provider credential being rejected is an
// Internal error: it is the operator's problem, never the caller's.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nf.GRPCStatus()
	}
	var se *StoreError
	if errors.As(err, &se) {
		return se.GRPCStatus()
	}
	if errors.Is(err, ErrShuttingDown) {
		return withDetails(codes.Unavailable, ErrShuttingDown.Error(),
			&errdetails.ErrorInfo{Reason: "SHUTTING_DOWN", Domain: ErrorDomain})
	}
	if s, ok := status.FromError(err); ok {
		return s
	}
	var inv *InvalidRequestError
	if errors.As(err, &inv) {
		br := &errdetails.BadRequest{}
		for _, v := range inv.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		return withDetails(codes.InvalidArgument, inv.Error(), br,
			&errdetails.ErrorInfo{Reason: "INVALID_REQUEST", Domain: ErrorDomain})
	}
	if st, ok := routingStatus(err); ok {
		return st
	}
	if pe, ok := providers.AsError(err); ok {
		return providerStatus(pe)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	}
	return status.New(codes.Internal, "internal error")
}

// retryAfterHeader sends a provider's back-off (a 429 with Retry-After,
// or a cooldown) as a retry-after header, which the REST shim passes on
// as Retry-After, beside the status's RetryInfo.
func retryAfterHeader(ctx context.Context, err error) {
	pe, ok := providers.AsError(err)
	if !ok || pe.RetryAfter <= 0 || (pe.Kind != providers.KindRateLimited && pe.Kind != providers.KindOverloaded) {
		return
	}
	secs := int64(pe.RetryAfter.Seconds() + 0.999)
	_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.FormatInt(max(secs, 1), 10)))
}

// providerStatus maps a typed upstream failure.
func providerStatus(pe *providers.Error) *status.Status {
	info := &errdetails.ErrorInfo{
		Reason:   "UPSTREAM_" + strings.ToUpper(pe.Kind.String()),
		Domain:   ErrorDomain,
		Metadata: map[string]string{"provider": pe.Provider},
	}
	var code codes.Code
	// The message names the provider, the failure and its HTTP status, and
	// the vendor's own text only where it is about the caller's request:
	// wrapped transport errors name internal hosts, and vendor messages can
	// carry account details.
	msg := "provider " + pe.Provider + ": " + pe.Kind.String()
	if pe.StatusCode != 0 {
		msg += " (HTTP " + strconv.Itoa(pe.StatusCode) + ")"
	}
	if (pe.Kind == providers.KindBadRequest || pe.Kind == providers.KindContextLength) && pe.Message != "" {
		msg += ": " + pe.Message
	}
	switch pe.Kind {
	case providers.KindBadRequest, providers.KindContextLength:
		code = codes.InvalidArgument
	case providers.KindRateLimited, providers.KindQuotaExhausted:
		code = codes.ResourceExhausted
	case providers.KindTimeout:
		code = codes.DeadlineExceeded
	case providers.KindCanceled:
		if errors.Is(pe, context.DeadlineExceeded) {
			return status.New(codes.DeadlineExceeded, "deadline exceeded")
		}
		return status.New(codes.Canceled, "request canceled")
	case providers.KindAuth:
		code = codes.Internal
		msg = "the gateway's credentials for provider " + pe.Provider + " were rejected"
	default:
		code = codes.Unavailable
	}
	if pe.RetryAfter > 0 {
		return withDetails(code, msg, info, &errdetails.RetryInfo{RetryDelay: durationpb.New(pe.RetryAfter)})
	}
	return withDetails(code, msg, info)
}

func withDetails(code codes.Code, msg string, details ...protoadapt.MessageV1) *status.Status {
	s := status.New(code, msg)
	if d, err := s.WithDetails(details...); err == nil {
		return d
	}
	return s
}

// routingStatus maps the router's and the prompt templates' errors.
func routingStatus(err error) (*status.Status, bool) {
	badField := func(reason, field string) *status.Status {
		return withDetails(codes.InvalidArgument, err.Error(), &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: err.Error()}},
		}, &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain})
	}
	var mv *routing.MissingVariableError
	switch {
	case errors.Is(err, routing.ErrUnknownRoute):
		return badField("UNKNOWN_ROUTE", "route"), true
	case errors.Is(err, routing.ErrUnknownModel):
		return badField("UNKNOWN_MODEL", "model"), true
	case errors.Is(err, routing.ErrUnknownVariant):
		return badField("UNKNOWN_VARIANT", "force_variant"), true
	case errors.As(err, &mv):
		return badField("MISSING_VARIABLE", "variables."+mv.Name), true
	case errors.Is(err, routing.ErrPromptTooLarge):
		return badField("PROMPT_TOO_LARGE", "variables"), true
	case errors.Is(err, routing.ErrForceNotAllowed):
		return withDetails(codes.PermissionDenied, err.Error(),
			&errdetails.ErrorInfo{Reason: "FORCED_VARIANT_NOT_ALLOWED", Domain: ErrorDomain}), true
	case errors.Is(err, routing.ErrNoEnrichment):
		return withDetails(codes.FailedPrecondition, err.Error(),
			&errdetails.ErrorInfo{Reason: "NO_ENRICHMENT_RECORD", Domain: ErrorDomain}), true
	case errors.Is(err, routing.ErrTemplate):
		// The operator's template and data disagree: not the caller's
		// fault, and the details are the operator's to read in the logs.
		return withDetails(codes.Internal, "the route's prompt template failed",
			&errdetails.ErrorInfo{Reason: "TEMPLATE_FAILED", Domain: ErrorDomain}), true
	}
	return nil, false
}
