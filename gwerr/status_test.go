package gwerr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/routing"
)

func TestStatus(t *testing.T) {
	pe := func(k providers.ErrorKind) error {
		return fmt.Errorf("attempt: %w", &providers.Error{Kind: k, Provider: "openai", StatusCode: 500, Message: "boom"})
	}
	tests := []struct {
		name   string
		err    error
		code   codes.Code
		reason string
	}{
		{"bad request", pe(providers.KindBadRequest), codes.InvalidArgument, "UPSTREAM_BAD_REQUEST"},
		{"context length", pe(providers.KindContextLength), codes.InvalidArgument, "UPSTREAM_CONTEXT_LENGTH"},
		{"rate limited", pe(providers.KindRateLimited), codes.ResourceExhausted, "UPSTREAM_RATE_LIMITED"},
		{"overloaded", pe(providers.KindOverloaded), codes.Unavailable, "UPSTREAM_OVERLOADED"},
		{"server", pe(providers.KindServer), codes.Unavailable, "UPSTREAM_SERVER_ERROR"},
		{"unavailable", pe(providers.KindUnavailable), codes.Unavailable, "UPSTREAM_UNAVAILABLE"},
		{"malformed", pe(providers.KindMalformed), codes.Unavailable, "UPSTREAM_MALFORMED"},
		{"truncated", pe(providers.KindTruncated), codes.Unavailable, "UPSTREAM_TRUNCATED"},
		{"schema mismatch", pe(providers.KindSchemaMismatch), codes.Unavailable, "UPSTREAM_SCHEMA_MISMATCH"},
		{"timeout", pe(providers.KindTimeout), codes.DeadlineExceeded, "UPSTREAM_TIMEOUT"},
		{"auth is ours, not the caller's", pe(providers.KindAuth), codes.Internal, "UPSTREAM_AUTH"},
		{"unknown route", fmt.Errorf("%w %q", routing.ErrUnknownRoute, "x"), codes.InvalidArgument, "UNKNOWN_ROUTE"},
		{"unknown model", routing.ErrUnknownModel, codes.InvalidArgument, "UNKNOWN_MODEL"},
		{"invalid", &InvalidRequestError{Violations: []FieldError{{"messages", "required"}}}, codes.InvalidArgument, "INVALID_REQUEST"},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, ""},
		{"canceled", context.Canceled, codes.Canceled, ""},
		{"status passes through", status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied, ""},
		{"anything else is internal", errors.New("secret detail"), codes.Internal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Status(tt.err)
			if s.Code() != tt.code {
				t.Fatalf("code = %v, want %v (%v)", s.Code(), tt.code, s.Message())
			}
			var info *errdetails.ErrorInfo
			for _, d := range s.Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			if tt.reason == "" {
				return
			}
			if info == nil || info.Reason != tt.reason || info.Domain != Domain {
				t.Fatalf("ErrorInfo = %v, want reason %s", info, tt.reason)
			}
		})
	}
}

func TestStatusHidesInternalDetail(t *testing.T) {
	if m := Status(errors.New("secret detail")).Message(); strings.Contains(m, "secret") {
		t.Fatalf("internal error leaked: %q", m)
	}
	auth := &providers.Error{Kind: providers.KindAuth, Provider: "openai", Message: "Incorrect API key provided: sk-abc"}
	if m := Status(auth).Message(); strings.Contains(m, "sk-abc") || strings.Contains(m, "Incorrect") {
		t.Fatalf("upstream auth text leaked: %q", m)
	}
}

func TestStatusRetryInfo(t *testing.T) {
	s := Status(&providers.Error{Kind: providers.KindRateLimited, Provider: "anthropic", RetryAfter: 7 * time.Second})
	for _, d := range s.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			if got := ri.GetRetryDelay().AsDuration(); got != 7*time.Second {
				t.Fatalf("retry delay = %v", got)
			}
			return
		}
	}
	t.Fatalf("no RetryInfo in %v", s.Details())
}

func TestStatusBadRequestFields(t *testing.T) {
	s := Status(&InvalidRequestError{Violations: []FieldError{{"messages[0].role", "unknown"}, {"params.temperature", "range"}}})
	for _, d := range s.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			if len(br.FieldViolations) != 2 || br.FieldViolations[1].Field != "params.temperature" {
				t.Fatalf("violations = %v", br.FieldViolations)
			}
			return
		}
	}
	t.Fatal("no BadRequest detail")
}
