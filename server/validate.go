package server

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// Limits bound what one request may ask for.
type Limits struct {
	// MaxRequestBytes is the largest accepted request, as encoded protobuf.
	MaxRequestBytes int
	// MaxMessages is the most messages one request may carry.
	MaxMessages int
	// MaxTokens is the ceiling for params.max_tokens.
	MaxTokens int
}

// DefaultLimits are the limits used when none are configured.
var DefaultLimits = Limits{MaxRequestBytes: 1 << 20, MaxMessages: 256, MaxTokens: 32768}

const (
	maxStopSequences = 4
	maxStopBytes     = 256
	maxSubjectBytes  = 256
	maxTags          = 32
	maxVariables     = 64
)

// validate checks req against the contract and lim and returns an
// [*InvalidRequestError] naming every offending field.
func validate(req *gatewayv1.CompleteRequest, lim Limits) error {
	var v []FieldError
	add := func(field, format string, args ...any) {
		v = append(v, FieldError{Field: field, Description: fmt.Sprintf(format, args...)})
	}
	if lim.MaxRequestBytes > 0 {
		if n := proto.Size(req); n > lim.MaxRequestBytes {
			// Nothing else is worth checking in a request this large.
			return &InvalidRequestError{Violations: []FieldError{{
				Field:       "request",
				Description: fmt.Sprintf("request is %d bytes, the limit is %d", n, lim.MaxRequestBytes),
			}}}
		}
	}
	override := req.GetModel()
	switch {
	case req.GetRoute() == "" && override == nil:
		add("route", "a route or a model override is required")
	case req.GetRoute() != "" && override != nil:
		add("model", "give a route or a model override, not both")
	case override != nil:
		if override.GetProvider() == "" {
			add("model.provider", "is required")
		}
		if override.GetModel() == "" {
			add("model.model", "is required")
		}
	}
	msgs := req.GetMessages()
	switch {
	case len(msgs) == 0:
		add("messages", "at least one message is required")
	case lim.MaxMessages > 0 && len(msgs) > lim.MaxMessages:
		add("messages", "at most %d messages are allowed, got %d", lim.MaxMessages, len(msgs))
	}
	hasUser := false
	for i, m := range msgs {
		switch m.GetRole() {
		case gatewayv1.Role_ROLE_SYSTEM, gatewayv1.Role_ROLE_ASSISTANT:
		case gatewayv1.Role_ROLE_USER:
			hasUser = true
		default:
			add("messages["+strconv.Itoa(i)+"].role", "unknown role %d: use ROLE_SYSTEM, ROLE_USER or ROLE_ASSISTANT", int32(m.GetRole()))
		}
		if m.GetContent() == "" {
			add("messages["+strconv.Itoa(i)+"].content", "must not be empty")
		}
	}
	if len(msgs) > 0 && !hasUser {
		add("messages", "at least one message must have ROLE_USER")
	}
	if p := req.GetParams(); p != nil {
		if p.MaxTokens != nil && (p.GetMaxTokens() < 1 || int(p.GetMaxTokens()) > lim.MaxTokens) {
			add("params.max_tokens", "must be between 1 and %d, got %d", lim.MaxTokens, p.GetMaxTokens())
		}
		if p.Temperature != nil && !(p.GetTemperature() >= 0 && p.GetTemperature() <= 2) {
			add("params.temperature", "must be between 0 and 2, got %g", p.GetTemperature())
		}
		if p.TopP != nil && !(p.GetTopP() > 0 && p.GetTopP() <= 1) {
			add("params.top_p", "must be greater than 0 and at most 1, got %g", p.GetTopP())
		}
		if len(p.GetStop()) > maxStopSequences {
			add("params.stop", "at most %d stop sequences are allowed", maxStopSequences)
		}
		for i, s := range p.GetStop() {
			if s == "" || len(s) > maxStopBytes {
				add("params.stop["+strconv.Itoa(i)+"]", "must be 1 to %d bytes", maxStopBytes)
			}
		}
	}
	if c := req.GetCaller(); c != nil {
		if len(c.GetSubject()) > maxSubjectBytes {
			add("caller.subject", "must be at most %d bytes", maxSubjectBytes)
		}
		if len(c.GetTags()) > maxTags {
			add("caller.tags", "at most %d tags are allowed", maxTags)
		}
	}
	if ttl := req.GetCache().GetTtl(); ttl != nil {
		if err := ttl.CheckValid(); err != nil || ttl.AsDuration() < 0 {
			add("cache.ttl", "must be a valid, non-negative duration")
		}
	}
	if len(req.GetVariables()) > maxVariables {
		add("variables", "at most %d variables are allowed", maxVariables)
	}
	if len(v) > 0 {
		return &InvalidRequestError{Violations: v}
	}
	return nil
}
