package edge

import (
	"context"
	"errors"
	"fmt"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// NewValidationInterceptors returns the interceptors that refuse invalid
// requests before any handler sees them. Every request message is checked
// against the protovalidate rules of its .proto (the buf.validate options in
// proto/llmgateway/v1/gateway.proto), and a CompleteRequest also against
// lim, which may be stricter than those rules but not looser. A request
// larger than lim.MaxRequestBytes is refused for its size alone.
//
// A refused request ends with InvalidArgument, a BadRequest detail listing
// every violated field (fields in .proto declaration order, a field's own
// elements and members before the field itself) and an ErrorInfo with reason
// INVALID_REQUEST: the interceptors map the [*gwerr.InvalidRequestError] through
// [Status] themselves, so they may sit anywhere in the chain. A rule that
// cannot be evaluated is an Internal error.
//
// It fails when lim allows more messages or tokens than the rules do, as
// such a limit could never take effect, or when a rule does not compile.
func NewValidationInterceptors(lim Limits) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor, error) {
	v, err := newRequestValidator(lim)
	if err != nil {
		return nil, nil, err
	}
	return v.unary, v.stream, nil
}

// requestValidator checks request messages against the rules and the limits.
type requestValidator struct {
	rules protovalidate.Validator
	lim   Limits
	// ceiling is what the rules allow at most.
	ceiling Limits
}

func newRequestValidator(lim Limits) (*requestValidator, error) {
	ceiling, err := ruleCeilings()
	if err != nil {
		return nil, err
	}
	if lim.MaxMessages > ceiling.MaxMessages {
		return nil, fmt.Errorf("validation: max messages %d is above the %d the .proto allows", lim.MaxMessages, ceiling.MaxMessages)
	}
	if lim.MaxTokens > ceiling.MaxTokens {
		return nil, fmt.Errorf("validation: max tokens %d is above the %d the .proto allows", lim.MaxTokens, ceiling.MaxTokens)
	}
	if err := checkRichLimits(lim); err != nil {
		return nil, err
	}
	// The requests are compiled now, so that a broken rule fails the start;
	// any other message (health checks) is compiled on first use.
	rules, err := protovalidate.New(protovalidate.WithMessages(
		&gatewayv1.CompleteRequest{}, &gatewayv1.EmbedRequest{}, &gatewayv1.FeedbackRequest{},
		&gatewayv1.GetExperimentRequest{}, &gatewayv1.UsageRequest{}))
	if err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	return &requestValidator{rules: rules, lim: lim, ceiling: ceiling}, nil
}

// ruleCeilings reads the most messages and max_tokens the rules allow.
func ruleCeilings() (Limits, error) {
	msgs, err := protovalidate.ResolveFieldRules(messagesField)
	if err != nil {
		return Limits{}, fmt.Errorf("validation: %w", err)
	}
	tokens, err := protovalidate.ResolveFieldRules(maxTokensField)
	if err != nil {
		return Limits{}, fmt.Errorf("validation: %w", err)
	}
	c := Limits{MaxMessages: int(msgs.GetRepeated().GetMaxItems()), MaxTokens: int(tokens.GetInt32().GetLte())}
	if c.MaxMessages == 0 || c.MaxTokens == 0 {
		return Limits{}, errors.New("validation: the .proto no longer bounds messages and params.max_tokens")
	}
	return c, nil
}

// check returns nil, an [*gwerr.InvalidRequestError] naming every violated field,
// or the error of a rule that could not be evaluated.
func (v *requestValidator) check(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("validation: %T is not a protobuf message", m)
	}
	if v.lim.MaxRequestBytes > 0 {
		if n := proto.Size(msg); n > v.lim.MaxRequestBytes {
			// Nothing else is worth checking in a request this large.
			return &gwerr.InvalidRequestError{Violations: []gwerr.FieldError{{
				Field:       "request",
				Description: fmt.Sprintf("request is %d bytes, the limit is %d", n, v.lim.MaxRequestBytes),
			}}}
		}
	}
	if req, ok := msg.(*gatewayv1.CompleteRequest); ok && v.plainValid(req) {
		return nil
	}
	return v.checkAll(msg)
}

// checkAll is check without the plain requests' shortcut: the rules, then
// the limits and the rich-request checks of a CompleteRequest.
func (v *requestValidator) checkAll(msg proto.Message) error {
	var vs []fieldViolation
	if err := v.rules.Validate(msg); err != nil {
		var ve *protovalidate.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("validating %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
		}
		vs = ruleViolations(msg.ProtoReflect().Descriptor(), ve)
	}
	if req, ok := msg.(*gatewayv1.CompleteRequest); ok {
		vs = v.checkLimits(req, vs)
		vs = v.checkRich(req, vs)
	}
	if len(vs) == 0 {
		return nil
	}
	return invalidRequest(vs)
}

// checkLimits adds to vs what the rules cannot express: the configured
// limits where they are stricter than the rules, and a well-formed ttl.
func (v *requestValidator) checkLimits(req *gatewayv1.CompleteRequest, vs []fieldViolation) []fieldViolation {
	// Above the rules' ceiling the rules have already said so.
	if n := len(req.GetMessages()); v.lim.MaxMessages > 0 && n > v.lim.MaxMessages && n <= v.ceiling.MaxMessages {
		vs = append(vs, newFieldViolation(fmt.Sprintf("at most %d messages are allowed, got %d", v.lim.MaxMessages, n),
			messagesField))
	}
	if p := req.GetParams(); p != nil && p.MaxTokens != nil {
		if t := int(p.GetMaxTokens()); v.lim.MaxTokens > 0 && t > v.lim.MaxTokens && t <= v.ceiling.MaxTokens {
			vs = append(vs, newFieldViolation(fmt.Sprintf("must be between 1 and %d, got %d", v.lim.MaxTokens, t),
				paramsField, maxTokensField))
		}
	}
	// The rules compare a malformed duration (seconds and nanos of opposite
	// signs, or beyond 10,000 years) as if it were well formed.
	if ttl := req.GetCache().GetTtl(); ttl != nil && ttl.CheckValid() != nil {
		bad := newFieldViolation("must be a valid duration", cacheField, ttlField)
		if !reported(vs, bad) {
			vs = append(vs, bad)
		}
	}
	return vs
}

func (v *requestValidator) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := v.check(req); err != nil {
		return nil, gwerr.Err(err)
	}
	return h(ctx, req)
}

func (v *requestValidator) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &validatingStream{ServerStream: ss, v: v})
}

// validatingStream checks every message the client sends.
type validatingStream struct {
	grpc.ServerStream
	v *requestValidator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := s.v.check(m); err != nil {
		return gwerr.Err(err)
	}
	return nil
}

var _ grpc.ServerStream = (*validatingStream)(nil)
