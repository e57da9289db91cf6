package gwerr

import (
	"context"
	"errors"
	"strconv"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/routing"
)

// ErrShuttingDown ends the calls still running when shutdown's grace
// period is over. It maps to Unavailable with reason SHUTTING_DOWN: the
// caller may retry on another replica.
var ErrShuttingDown = errors.New("the gateway is shutting down; retry the call")

// Status maps any error the gateway produces to the gRPC status returned
// to the caller. It is the only place that does so: handlers and
// interceptors return domain errors and let this decide the code and the
// details.
//
// Provider failures carry an ErrorInfo (reason = the upstream error kind,
// metadata = the provider name) and, when the provider asked for a
// back-off, a RetryInfo. Our own provider credential being rejected is an
// Internal error: it is the operator's problem, never the caller's. A
// status error passes through as it is.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	var (
		ge  *Error
		nf  *NotFoundError
		se  *StoreError
		inv *InvalidRequestError
		ex  *quota.ExceededError
	)
	switch {
	case errors.As(err, &ge):
		return withDetails(kindCodes[ge.Kind], ge.Message, info(ge.Reason, ge.Metadata))
	case errors.As(err, &nf):
		return withDetails(codes.NotFound, nf.Error(), info(nf.Reason, nil),
			&errdetails.ResourceInfo{ResourceType: nf.ResourceType, ResourceName: nf.Name, Description: "not found"})
	case errors.As(err, &se):
		return withDetails(codes.Unavailable, se.Store+" store unavailable",
			info(ReasonStoreUnavailable, map[string]string{"store": se.Store}))
	case errors.Is(err, ErrShuttingDown):
		return withDetails(codes.Unavailable, ErrShuttingDown.Error(), info(ReasonShuttingDown, nil))
	case errors.As(err, &inv):
		br := &errdetails.BadRequest{}
		for _, v := range inv.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		return withDetails(codes.InvalidArgument, inv.Error(), br, info(ReasonInvalidRequest, nil))
	case errors.As(err, &ex):
		return quotaStatus(ex)
	}
	if s, ok := status.FromError(err); ok {
		return s
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

// kindCodes are the gRPC codes of [Error]'s kinds.
var kindCodes = [...]codes.Code{
	Internal:        codes.Internal,
	Unauthenticated: codes.Unauthenticated,
	Denied:          codes.PermissionDenied,
	Invalid:         codes.InvalidArgument,
	Unavailable:     codes.Unavailable,
	Disabled:        codes.Unimplemented,
}

func info(reason string, md map[string]string) *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md}
}

// quotaStatus is a refused request: ResourceExhausted with RetryInfo, or
// FailedPrecondition for a request that can never fit.
func quotaStatus(ex *quota.ExceededError) *status.Status {
	md := map[string]string{"limit": ex.Limit, "kind": ex.Kind.String()}
	if ex.TooLarge {
		return withDetails(codes.FailedPrecondition, ex.Error(), info(ReasonRequestExceedsQuota, md))
	}
	return withDetails(codes.ResourceExhausted, ex.Error(), info(ReasonQuotaExceeded, md),
		&errdetails.RetryInfo{RetryDelay: durationpb.New(ex.RetryAfter)})
}

// providerStatus maps a typed upstream failure.
func providerStatus(pe *providers.Error) *status.Status {
	in := info(UpstreamReason(pe.Kind.String()), map[string]string{"provider": pe.Provider})
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
	if pe.Code == providers.CodeUnsupported {
		// The gateway's own words: the features the provider lacks.
		msg += ": " + pe.Message
	}
	if pe.Kind == providers.KindSchemaMismatch && pe.Message != "" {
		// Where the answer failed the caller's own schema: the location
		// and the rule it broke, not the answer itself.
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
		return withDetails(code, msg, in, &errdetails.RetryInfo{RetryDelay: durationpb.New(pe.RetryAfter)})
	}
	return withDetails(code, msg, in)
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
		}, info(reason, nil))
	}
	var mv *routing.MissingVariableError
	switch {
	case errors.Is(err, routing.ErrUnknownRoute):
		return badField(ReasonUnknownRoute, "route"), true
	case errors.Is(err, routing.ErrUnknownModel):
		return badField(ReasonUnknownModel, "model"), true
	case errors.Is(err, routing.ErrUnknownVariant):
		return badField(ReasonUnknownVariant, "force_variant"), true
	case errors.As(err, &mv):
		return badField(ReasonMissingVariable, "variables."+mv.Name), true
	case errors.Is(err, routing.ErrPromptTooLarge):
		return badField(ReasonPromptTooLarge, "variables"), true
	case errors.Is(err, routing.ErrForceNotAllowed):
		return withDetails(codes.PermissionDenied, err.Error(), info(ReasonForcedVariantNotAllowed, nil)), true
	case errors.Is(err, routing.ErrNoEnrichment):
		return withDetails(codes.FailedPrecondition, err.Error(), info(ReasonNoEnrichmentRecord, nil)), true
	case errors.Is(err, routing.ErrTemplate):
		// The operator's template and data disagree: not the caller's
		// fault, and the details are the operator's to read in the logs.
		return withDetails(codes.Internal, "the route's prompt template failed", info(ReasonTemplateFailed, nil)), true
	}
	return nil, false
}

// Err is [Status] of err as an error, nil for nil: what an interceptor
// returns when it refuses a call.
func Err(err error) error {
	if err == nil {
		return nil
	}
	return Status(err).Err()
}

// Details is what a status says beyond its code and message: the
// ErrorInfo reason and metadata, the first field a BadRequest names, and
// the RetryInfo delay.
type Details struct {
	Reason     string
	Metadata   map[string]string
	Field      string
	RetryDelay *durationpb.Duration
}

// DetailsOf reads st's details.
func DetailsOf(st *status.Status) Details {
	var d Details
	for _, x := range st.Details() {
		switch x := x.(type) {
		case *errdetails.ErrorInfo:
			d.Reason, d.Metadata = x.GetReason(), x.GetMetadata()
		case *errdetails.BadRequest:
			if fv := x.GetFieldViolations(); len(fv) > 0 && d.Field == "" {
				d.Field = fv[0].GetField()
			}
		case *errdetails.RetryInfo:
			if d.RetryDelay == nil {
				d.RetryDelay = x.GetRetryDelay()
			}
		}
	}
	return d
}

// CodeName is the canonical name (OK, RESOURCE_EXHAUSTED, …) of the gRPC
// code of err, as google.rpc.Code spells it.
func CodeName(err error) string {
	c := status.Code(err)
	if n, ok := rpccode.Code_name[int32(c)]; ok {
		return n
	}
	return c.String()
}
