package anthropic

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMessagesRequest decodes arbitrary bodies as a request, as the
// simulator and the compatible API do: it must never panic, and what
// decodes must encode (by hand or by encoding/json) to a body that
// decodes and encodes to the same bytes again.
func FuzzMessagesRequest(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"model":"m","max_tokens":5,"system":"s","messages":[{"role":"user","content":"hi"}]}`,
		`{"system":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}`,
		`{"messages":[{"content":null}],"thinking":{"type":"enabled","budget_tokens":1024},"tools":[{"name":"f"}]}`,
		`{"metadata":{},"stop_sequences":[],"stream":true,"top_k":-1,"temperature":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r MessagesRequest
		if json.Unmarshal(body, &r) != nil {
			return
		}
		out, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		var again MessagesRequest
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		out2, err := again.AppendJSON(nil)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable\nfirst  %s\nsecond %s (%v)", out, out2, err)
		}
	})
}

// FuzzEvent decodes arbitrary stream event data: it must never panic, and
// an event that decodes must encode to data that decodes and encodes to
// the same bytes again.
func FuzzEvent(f *testing.F) {
	for _, s := range []string{`{"type":"message_start","message":{"id":"m","usage":{"input_tokens":1}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":-1}}`,
		`{"type":"error","error":null}`, `{"type":5}`, `{"type":"\u0070ing"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		if json.Unmarshal(data, &e) != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("encode %+v: %v", e, err)
		}
		var again Event
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		out2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable\nfirst  %s\nsecond %s (%v)", out, out2, err)
		}
	})
}
