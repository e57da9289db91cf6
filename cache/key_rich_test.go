package cache_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
	"github.com/careerpath/llmgateway/providers"
)

// Everything of a rich request that changes the answer changes the key,
// and a prompt-cache point does not.
func TestKeyRich(t *testing.T) {
	base := cachetest.BaseParts()
	with := func(change func(r *providers.Request)) cache.Key {
		p := base
		r := *base.Request
		r.Messages = append([]providers.Message(nil), base.Request.Messages...)
		p.Request = &r
		change(&r)
		return cache.NewKey(p)
	}
	tool := providers.Tool{Name: "search_jobs", Parameters: json.RawMessage(`{"type":"object"}`)}
	image := func(data string) providers.Part {
		return providers.Part{Kind: providers.PartImage, Image: &providers.Image{Data: []byte(data), MediaType: "image/png"}}
	}
	keys := map[string]cache.Key{"text": cache.NewKey(base)}
	for name, change := range map[string]func(r *providers.Request){
		"tool": func(r *providers.Request) { r.Tools = []providers.Tool{tool} },
		"tool schema": func(r *providers.Request) {
			r.Tools = []providers.Tool{{Name: "search_jobs", Parameters: json.RawMessage(`{}`)}}
		},
		"tool choice": func(r *providers.Request) { r.ToolChoice = providers.ToolChoice{Mode: providers.ToolChoiceRequired} },
		"parallel off": func(r *providers.Request) {
			f := false
			r.ParallelToolCalls = &f
		},
		"parallel on": func(r *providers.Request) {
			on := true
			r.ParallelToolCalls = &on
		},
		"json object": func(r *providers.Request) {
			r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONObject}
		},
		"json schema": func(r *providers.Request) {
			r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: json.RawMessage(`{}`)}
		},
		"strict": func(r *providers.Request) {
			r.ResponseFormat = providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: json.RawMessage(`{}`), Strict: true}
		},
		"effort": func(r *providers.Request) { r.Reasoning = providers.Reasoning{Effort: providers.EffortLow} },
		"budget": func(r *providers.Request) { r.Reasoning = providers.Reasoning{BudgetTokens: 2048} },
		"text part": func(r *providers.Request) {
			r.Messages[1] = providers.Message{Role: providers.RoleUser, Parts: []providers.Part{providers.TextPart(r.Messages[1].Content)}}
		},
		"image a": func(r *providers.Request) {
			r.Messages[1] = providers.Message{Role: providers.RoleUser, Parts: []providers.Part{image("a")}}
		},
		"image b": func(r *providers.Request) {
			r.Messages[1] = providers.Message{Role: providers.RoleUser, Parts: []providers.Part{image("b")}}
		},
		"tool call": func(r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleAssistant, Parts: []providers.Part{
				{Kind: providers.PartToolCall, ToolCall: &providers.ToolCall{ID: "c1", Name: "search_jobs", Arguments: "{}"}}}})
		},
		"tool result error": func(r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "c1", IsError: true}}}})
		},
		"tool result": func(r *providers.Request) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleTool, Parts: []providers.Part{
				{Kind: providers.PartToolResult, ToolResult: &providers.ToolResult{ToolCallID: "c1"}}}})
		},
	} {
		k := with(change)
		for other, ok := range keys {
			if ok == k {
				t.Errorf("%s and %s share a key", name, other)
			}
		}
		keys[name] = k
	}
	if with(func(r *providers.Request) { r.Messages[0].CachePoint = &providers.CachePoint{TTL: time.Hour} }) != keys["text"] {
		t.Error("a cache point changes the key")
	}
	imgCached := with(func(r *providers.Request) {
		p := image("a")
		p.CachePoint = &providers.CachePoint{}
		r.Messages[1] = providers.Message{Role: providers.RoleUser, Parts: []providers.Part{p}}
	})
	if imgCached != keys["image a"] {
		t.Error("a part's cache point changes the key")
	}
}
