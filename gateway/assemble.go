package gateway

import (
	"strings"

	"github.com/careerpath/llmgateway/providers"
)

// answerBuilder puts a streamed answer back together, in the order its
// pieces arrived, so that it can be cached and replayed exactly.
type answerBuilder struct {
	text  strings.Builder
	parts []providers.Part
	calls map[int]int // a tool call's stream index → its part
	rich  bool        // a part other than text arrived
}

// add takes one chunk of the stream.
func (b *answerBuilder) add(c providers.Chunk) {
	if c.Thinking != nil {
		b.thinking(c.Thinking)
	}
	if c.ToolCall != nil {
		b.toolCall(c.ToolCall)
	}
	if c.Delta != "" {
		b.text.WriteString(c.Delta)
		if n := len(b.parts); n > 0 && b.parts[n-1].Kind == providers.PartText {
			b.parts[n-1].Text += c.Delta
		} else {
			b.parts = append(b.parts, providers.Part{Kind: providers.PartText, Text: c.Delta})
		}
	}
}

func (b *answerBuilder) thinking(d *providers.ThinkingDelta) {
	b.rich = true
	if n := len(b.parts); n > 0 && d.Redacted == "" {
		if t := b.parts[n-1].Thinking; t != nil && t.Signature == "" && t.Redacted == "" {
			t.Text += d.Text
			t.Signature = d.Signature
			return
		}
	}
	b.parts = append(b.parts, providers.Part{Kind: providers.PartThinking,
		Thinking: &providers.Thinking{Text: d.Text, Signature: d.Signature, Redacted: d.Redacted}})
}

func (b *answerBuilder) toolCall(d *providers.ToolCallDelta) {
	b.rich = true
	if b.calls == nil {
		b.calls = make(map[int]int)
	}
	i, ok := b.calls[d.Index]
	if !ok {
		b.calls[d.Index] = len(b.parts)
		b.parts = append(b.parts, providers.Part{Kind: providers.PartToolCall,
			ToolCall: &providers.ToolCall{ID: d.ID, Name: d.Name, Arguments: d.Arguments}})
		return
	}
	c := b.parts[i].ToolCall
	if c.ID == "" {
		c.ID = d.ID
	}
	if c.Name == "" {
		c.Name = d.Name
	}
	c.Arguments += d.Arguments
}

// response is the answer so far, with the final chunk's metadata.
func (b *answerBuilder) response(done providers.Chunk) *providers.Response {
	r := &providers.Response{ID: done.ID, Model: done.Model, Text: b.text.String(),
		FinishReason: done.FinishReason, Usage: done.Usage}
	if b.rich {
		parts := b.parts
		r.Parts = &parts
	}
	return r
}
