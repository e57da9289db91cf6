package gemini

import (
	"errors"
	"io"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/sse"
	wire "github.com/careerpath/llmgateway/wire/gemini"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// parser maps the events of one streamGenerateContent call to chunks.
// Every event is a GenerateContentResponse; the answer is complete when
// the stream ends cleanly after an event carrying a finishReason (or a
// prompt block).
type parser struct {
	rd *sse.Reader
	p  *Provider

	conv      converter
	pending   []providers.Chunk
	id, model string
	usage     providers.Usage
	finish    string
	blocked   bool
	done      bool
}

func newParser(r io.Reader, p *Provider) *parser {
	return &parser{rd: sse.NewReader(r), p: p}
}

// next returns the next chunk; after the terminal chunk, io.EOF.
func (ps *parser) next() (providers.Chunk, error) {
	for {
		if len(ps.pending) > 0 {
			c := ps.pending[0]
			ps.pending = ps.pending[1:]
			return c, nil
		}
		if ps.done {
			return providers.Chunk{}, io.EOF
		}
		e, err := ps.rd.Next()
		switch {
		case errors.Is(err, io.EOF) && (ps.finish != "" || ps.blocked):
			ps.done = true
			fr := finishReason(ps.finish, ps.conv.calls > 0)
			if ps.blocked {
				fr = providers.FinishContentFilter
			}
			return providers.Chunk{Done: true, FinishReason: fr, Usage: ps.usage, ID: ps.id, Model: ps.model}, nil
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return providers.Chunk{}, &providers.Error{
				Kind:     providers.KindTruncated,
				Provider: ps.p.name,
				Message:  "stream ended before a finishReason",
				Err:      io.ErrUnexpectedEOF,
			}
		case errors.Is(err, sse.ErrLineTooLong):
			return providers.Chunk{}, &providers.Error{Kind: providers.KindMalformed, Provider: ps.p.name, Message: "stream line too long", Err: err}
		case err != nil:
			return providers.Chunk{}, err
		}
		var w wire.Response
		if err := wirejson.Unmarshal(e.Data, &w); err != nil {
			return providers.Chunk{}, ps.p.malformed(e.Data, err)
		}
		if w.Error != nil {
			return providers.Chunk{}, ps.p.eventError(w.Error)
		}
		ps.take(&w)
	}
}

// take queues the chunks of one event and keeps its metadata; usage is
// cumulative, so the last value wins.
func (ps *parser) take(w *wire.Response) {
	if w.ResponseID != "" {
		ps.id = w.ResponseID
	}
	if w.ModelVersion != "" {
		ps.model = w.ModelVersion
	}
	if w.UsageMetadata != nil {
		ps.usage = normalize(w.UsageMetadata)
	}
	if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
		ps.blocked = true
	}
	if len(w.Candidates) == 0 {
		return
	}
	cand := w.Candidates[0]
	if cand.FinishReason != "" {
		ps.finish = cand.FinishReason
	}
	if cand.Content == nil {
		return
	}
	for _, part := range ps.conv.convert(cand.Content.Parts) {
		switch part.Kind {
		case providers.PartText:
			ps.pending = append(ps.pending, providers.Chunk{Delta: part.Text})
		case providers.PartThinking:
			th := part.Thinking
			ps.pending = append(ps.pending, providers.Chunk{Thinking: &providers.ThinkingDelta{Text: th.Text, Signature: th.Signature}})
		case providers.PartToolCall:
			tc := part.ToolCall
			// Gemini sends each call whole, in one event.
			ps.pending = append(ps.pending, providers.Chunk{ToolCall: &providers.ToolCallDelta{
				Index: ps.conv.calls - 1, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}})
		}
	}
}
