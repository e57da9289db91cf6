package gateway

import (
	"io"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/providers"
)

// replayStream plays a whole answer (a cached, stale or degraded one) as a
// stream: its parts in order as the live path streams them (text in
// deltas; a tool call's index, id and name, then its arguments; thinking,
// then its signature), then the final chunk.
type replayStream struct {
	resp   *providers.Response
	chunks []providers.Chunk
	done   bool
}

// replay returns resp as a stream. Text is cut into deltas of at most
// maxChunk bytes on word boundaries (see [cache.Entry.Chunks]); maxChunk
// < 0 sends each text whole.
func replay(resp *providers.Response, maxChunk int) providers.Stream {
	var chunks []providers.Chunk
	text := func(s string) {
		if s == "" {
			return
		}
		if maxChunk < 0 {
			chunks = append(chunks, providers.Chunk{Delta: s})
			return
		}
		for _, d := range (cache.Entry{Text: s}).Chunks(maxChunk) {
			chunks = append(chunks, providers.Chunk{Delta: d})
		}
	}
	parts := resp.PartList()
	if parts == nil {
		text(resp.Text)
	}
	calls := 0
	for _, p := range parts {
		switch {
		case p.Kind == providers.PartToolCall && p.ToolCall != nil:
			c := p.ToolCall
			chunks = append(chunks, providers.Chunk{ToolCall: &providers.ToolCallDelta{Index: calls, ID: c.ID, Name: c.Name}})
			if c.Arguments != "" {
				chunks = append(chunks, providers.Chunk{ToolCall: &providers.ToolCallDelta{Index: calls, Arguments: c.Arguments}})
			}
			calls++
		case p.Kind == providers.PartThinking && p.Thinking != nil:
			t := p.Thinking
			if t.Redacted != "" {
				chunks = append(chunks, providers.Chunk{Thinking: &providers.ThinkingDelta{Redacted: t.Redacted}})
			}
			if t.Text != "" {
				chunks = append(chunks, providers.Chunk{Thinking: &providers.ThinkingDelta{Text: t.Text}})
			}
			if t.Signature != "" {
				chunks = append(chunks, providers.Chunk{Thinking: &providers.ThinkingDelta{Signature: t.Signature}})
			}
		case p.Kind == providers.PartText:
			text(p.Text)
		}
	}
	return &replayStream{resp: resp, chunks: chunks}
}

// Recv implements providers.Stream.
func (s *replayStream) Recv() (providers.Chunk, error) {
	if len(s.chunks) > 0 {
		c := s.chunks[0]
		s.chunks = s.chunks[1:]
		return c, nil
	}
	if s.done {
		return providers.Chunk{}, io.EOF
	}
	s.done = true
	return providers.Chunk{Done: true, FinishReason: s.resp.FinishReason, Usage: s.resp.Usage,
		ID: s.resp.ID, Model: s.resp.Model}, nil
}

// Close implements providers.Stream.
func (s *replayStream) Close() error { return nil }
