package server

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

func goodRequest() *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route:    "career_advice",
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"}},
	}
}

func TestValidate(t *testing.T) {
	lim := Limits{MaxRequestBytes: 4096, MaxMessages: 4, MaxTokens: 1000}
	tests := []struct {
		name   string
		mutate func(r *gatewayv1.CompleteRequest)
		fields []string
	}{
		{"good", func(*gatewayv1.CompleteRequest) {}, nil},
		{"no route", func(r *gatewayv1.CompleteRequest) { r.Route = "" }, []string{"route"}},
		{"route and model", func(r *gatewayv1.CompleteRequest) { r.Model = &gatewayv1.ModelOverride{Provider: "p", Model: "m"} }, []string{"model"}},
		{"override incomplete", func(r *gatewayv1.CompleteRequest) { r.Route = ""; r.Model = &gatewayv1.ModelOverride{} }, []string{"model.provider", "model.model"}},
		{"empty messages", func(r *gatewayv1.CompleteRequest) { r.Messages = nil }, []string{"messages"}},
		{"unknown role", func(r *gatewayv1.CompleteRequest) {
			r.Messages = append(r.Messages, &gatewayv1.Message{Role: 9, Content: "x"})
		}, []string{"messages[1].role"}},
		{"unspecified role", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Role = 0 }, []string{"messages[0].role", "messages"}},
		{"empty content", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Content = "" }, []string{"messages[0].content"}},
		{"too many messages", func(r *gatewayv1.CompleteRequest) {
			for range 4 {
				r.Messages = append(r.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_USER, Content: "x"})
			}
		}, []string{"messages"}},
		{"negative max_tokens", func(r *gatewayv1.CompleteRequest) { r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(-1)} }, []string{"params.max_tokens"}},
		{"absurd max_tokens", func(r *gatewayv1.CompleteRequest) {
			r.Params = &gatewayv1.GenerationParams{MaxTokens: proto.Int32(1 << 30)}
		}, []string{"params.max_tokens"}},
		{"temperature out of range", func(r *gatewayv1.CompleteRequest) {
			r.Params = &gatewayv1.GenerationParams{Temperature: proto.Float64(2.5), TopP: proto.Float64(0)}
		}, []string{"params.temperature", "params.top_p"}},
		{"too many stops", func(r *gatewayv1.CompleteRequest) {
			r.Params = &gatewayv1.GenerationParams{Stop: []string{"a", "b", "c", "d", ""}}
		}, []string{"params.stop", "params.stop[4]"}},
		{"negative ttl", func(r *gatewayv1.CompleteRequest) {
			r.Cache = &gatewayv1.CacheControl{Ttl: &durationpb.Duration{Seconds: -5}}
		}, []string{"cache.ttl"}},
		{"oversized", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Content = strings.Repeat("x", 5000) }, []string{"request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRequest()
			tt.mutate(r)
			err := validate(r, lim)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				return
			}
			var inv *InvalidRequestError
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want InvalidRequestError", err)
			}
			var got []string
			for _, v := range inv.Violations {
				got = append(got, v.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}
