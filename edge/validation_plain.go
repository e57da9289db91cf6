package edge

import (
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// plainValid reports whether req is a plain text request that the
// .proto's rules, the configured limits and the rich-request checks all
// accept, deciding it by hand in a few comparisons where the rules'
// evaluation costs a few microseconds and dozens of allocations on every
// call. Plain means: a route or a model override; messages of text
// content only (no parts, no cache points, no ROLE_TOOL); generation
// parameters, a caller, cache control and template variables; nothing
// else (no tools, tool choice, response format, reasoning or forced
// variant).
//
// It only ever answers "valid" for certain: anything it does not know to
// be valid (a rich request, a value out of range, a NaN) is left to the
// full check, which then names every violation exactly as before. Its
// tests hold it to that against the rules themselves, on every field of
// the messages it reads, and fail when one of them gains a field.
func (v *requestValidator) plainValid(req *gatewayv1.CompleteRequest) bool {
	if m := req.Model; m != nil {
		if req.Route != "" || m.Provider == "" || m.Model == "" {
			return false
		}
	} else if req.Route == "" {
		return false
	}
	if req.ForceVariant != "" || len(req.Tools) != 0 || req.ToolChoice != nil ||
		req.ResponseFormat != nil || req.Reasoning != nil || len(req.Variables) > 64 {
		return false
	}
	msgs := req.Messages
	if n := len(msgs); n == 0 || n > v.ceiling.MaxMessages || (v.lim.MaxMessages > 0 && n > v.lim.MaxMessages) {
		return false
	}
	user := false
	for _, m := range msgs {
		switch m.Role {
		case gatewayv1.Role_ROLE_USER:
			user = true
		case gatewayv1.Role_ROLE_SYSTEM, gatewayv1.Role_ROLE_ASSISTANT:
		default:
			return false
		}
		if m.Content == "" || len(m.Parts) != 0 || m.CachePoint != nil {
			return false
		}
	}
	if !user {
		return false
	}
	if p := req.Params; p != nil {
		if t := p.MaxTokens; t != nil && (*t < 1 || int(*t) > v.ceiling.MaxTokens || (v.lim.MaxTokens > 0 && int(*t) > v.lim.MaxTokens)) {
			return false
		}
		if t := p.Temperature; t != nil && !(*t >= 0 && *t <= 2) {
			return false
		}
		if t := p.TopP; t != nil && !(*t > 0 && *t <= 1) {
			return false
		}
		if len(p.Stop) > 4 {
			return false
		}
		for _, s := range p.Stop {
			if len(s) < 1 || len(s) > 256 {
				return false
			}
		}
	}
	if c := req.Caller; c != nil && (len(c.Subject) > 256 || len(c.Tags) > 32) {
		return false
	}
	if c := req.Cache; c != nil && c.Ttl != nil {
		if c.Ttl.Seconds < 0 || c.Ttl.Nanos < 0 || c.Ttl.CheckValid() != nil {
			return false
		}
	}
	return true
}
