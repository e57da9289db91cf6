package openai

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzChatRequest decodes arbitrary bodies as a request, as the simulator
// and the compatible API do: it must never panic, and what decodes must
// encode (by hand or by encoding/json) to a body that decodes to the same
// request.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"x"}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]}`,
		`{"messages":[{"content":null}],"max_tokens":-1,"temperature":1e308,"tools":[{"type":"function"}]}`,
		`{"messages":[{"role":"user","content":"\u2028<&>"}],"stream":true,"stream_options":{"include_usage":true}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r ChatRequest
		if json.Unmarshal(body, &r) != nil {
			return
		}
		out, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		var again ChatRequest
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if !reflect.DeepEqual(normalizeRequest(r), normalizeRequest(again)) {
			t.Fatalf("round trip changed the request\nin  %s\nout %s", body, out)
		}
	})
}

// normalizeRequest drops the differences a round trip may make without
// changing the meaning: raw fields re-indented, a null content as "".
func normalizeRequest(r ChatRequest) ChatRequest {
	compact := func(raw json.RawMessage) json.RawMessage {
		if raw == nil {
			return nil
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return raw
		}
		b, _ := json.Marshal(v)
		return b
	}
	r.Logprobs, r.Tools, r.ToolChoice, r.ParallelToolCalls = compact(r.Logprobs), compact(r.Tools), compact(r.ToolChoice), compact(r.ParallelToolCalls)
	r.Functions, r.Audio, r.WebSearchOptions = compact(r.Functions), compact(r.Audio), compact(r.WebSearchOptions)
	if r.ResponseFormat != nil && r.ResponseFormat.JSONSchema != nil {
		s := *r.ResponseFormat.JSONSchema
		s.Schema = compact(s.Schema)
		r.ResponseFormat = &ResponseFormat{Type: r.ResponseFormat.Type, JSONSchema: &s}
	}
	msgs := make([]Message, len(r.Messages))
	for i, m := range r.Messages {
		m.ToolCalls, m.FunctionCall = compact(m.ToolCalls), compact(m.FunctionCall)
		msgs[i] = m
	}
	if r.Messages != nil {
		r.Messages = msgs
	}
	if len(r.Stop) == 0 {
		r.Stop = nil
	}
	return r
}

// FuzzParseError reads arbitrary error bodies leniently: it must never
// panic, and an error it finds must survive being written and read again.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{`{"error":{"message":"m","type":"t","param":null,"code":429}}`, `{"error":"bare"}`,
		`{"object":"error","message":"vllm","type":"BadRequestError","code":400}`, `{"detail":"fastapi"}`, `[]`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, ok := ParseError(body)
		if !ok {
			return
		}
		again, ok := ParseError(e.AppendJSON(nil))
		if !ok || again != e {
			t.Fatalf("%+v became %+v (%v)", e, again, ok)
		}
		_ = StatusOf(e.CodeOrType())
	})
}
