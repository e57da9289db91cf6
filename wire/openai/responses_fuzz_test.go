package openai

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzResponseRequest decodes arbitrary bodies as a Responses request, as
// the compatible API does: it must never panic, and what decodes must
// encode to a body that decodes to the same request.
func FuzzResponseRequest(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"model":"m","input":"hi","stream":true}`,
		`{"input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"u"}]}]}`,
		`{"input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}","parsed_arguments":null},` +
			`{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x"}]}]}`,
		`{"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true},{"type":"web_search"}],` +
			`"tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false}`,
		`{"text":{"format":{"type":"json_schema","name":"x","schema":{},"strict":true},"verbosity":"low"},"reasoning":{"effort":"low"}}`,
		`{"input":[{"role":"user","content":"\u2028<&>","foo":1}],"store":false,"include":["x"],"previous_response_id":null}`,
		`{"tool_choice":"auto","metadata":{"a":"b"},"max_output_tokens":-1,"temperature":1e308,"stream_options":{"include_obfuscation":false}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r ResponseRequest
		if DecodeResponseRequest(body, &r) != nil {
			return
		}
		// The input's own decoder, which json.Unmarshal uses, reads the
		// input as the one-pass decoder did.
		var raw struct{ Input json.RawMessage }
		var typed ResponseInput
		if json.Unmarshal(body, &raw) == nil && raw.Input != nil {
			if err := typed.UnmarshalJSON(raw.Input); err != nil {
				t.Fatalf("the input's decoder refuses what the request's took: %v\n%s", err, body)
			}
			a, b := normalizeResponseRequest(ResponseRequest{Input: typed}), normalizeResponseRequest(ResponseRequest{Input: r.Input})
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("the two input decoders disagree on %s:\n%+v\n%+v", body, a.Input, b.Input)
			}
		}
		out, err := json.Marshal(&r)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		var again ResponseRequest
		if err := DecodeResponseRequest(out, &again); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if !reflect.DeepEqual(normalizeResponseRequest(r), normalizeResponseRequest(again)) {
			t.Fatalf("round trip changed the request\nin  %s\nout %s", body, out)
		}
	})
}

// normalizeResponseRequest drops the differences a round trip may make
// without changing the meaning: raw fields re-indented, empty lists and
// maps as absent.
func normalizeResponseRequest(r ResponseRequest) ResponseRequest {
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
	r.PreviousResponseID, r.Conversation, r.Prompt = compact(r.PreviousResponseID), compact(r.Conversation), compact(r.Prompt)
	r.PromptCacheRetention, r.PromptCacheOptions = compact(r.PromptCacheRetention), compact(r.PromptCacheOptions)
	r.ContextManagement, r.Moderation, r.MaxToolCalls = compact(r.ContextManagement), compact(r.Moderation), compact(r.MaxToolCalls)
	if len(r.Tools) == 0 {
		r.Tools = nil
	}
	tools := make(ResponseTools, len(r.Tools))
	for i, t := range r.Tools {
		t.Parameters, t.Hosted = compact(t.Parameters), compact(t.Hosted)
		tools[i] = t
	}
	if r.Tools != nil {
		r.Tools = tools
	}
	if len(r.Metadata) == 0 {
		r.Metadata = nil
	}
	if len(r.Include) == 0 {
		r.Include = nil
	}
	if r.Text != nil && r.Text.Format != nil {
		f := *r.Text.Format
		f.Schema = compact(f.Schema)
		r.Text = &TextConfig{Format: &f, Verbosity: r.Text.Verbosity}
	}
	items := make([]InputItem, len(r.Input.Items))
	for i, it := range r.Input.Items {
		it.ParsedArguments = compact(it.ParsedArguments)
		it.Content, it.Output = normalizeContent(it.Content), normalizeContent(it.Output)
		items[i] = it
	}
	if r.Input.Items != nil {
		r.Input.Items = items
	}
	return r
}

func normalizeContent(c *InputContent) *InputContent {
	if c == nil || c.Parts == nil {
		return c
	}
	out := &InputContent{Parts: make([]InputPart, len(c.Parts))}
	for i, p := range c.Parts {
		for _, raw := range []*json.RawMessage{&p.Annotations, &p.Logprobs, &p.Parsed} {
			if *raw != nil {
				var v any
				if json.Unmarshal(*raw, &v) == nil {
					*raw, _ = json.Marshal(v)
				}
			}
		}
		out.Parts[i] = p
	}
	return out
}
