package gemini

import (
	"strings"

	"github.com/careerpath/llmgateway/providers"
	wire "github.com/careerpath/llmgateway/wire/gemini"
	"github.com/careerpath/llmgateway/wire/wirejson"
)

// normalize converts usage metadata to the gateway's meaning.
func normalize(u *wire.UsageMetadata) providers.Usage {
	if u == nil {
		return providers.Usage{}
	}
	return providers.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}

// finishReason maps a candidate's finishReason; calls says the answer
// asked for functions, which Gemini reports as STOP.
func finishReason(s string, calls bool) providers.FinishReason {
	switch {
	case s == "":
		return providers.FinishUnknown
	case calls && s == wire.FinishStop:
		return providers.FinishToolCalls
	case s == wire.FinishStop:
		return providers.FinishStop
	case s == wire.FinishMaxTokens:
		return providers.FinishLength
	case wire.IsFiltered(s):
		return providers.FinishContentFilter
	}
	// LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL and reasons added later.
	return providers.FinishUnknown
}

// converter turns response parts into neutral parts, numbering function
// calls across the events of one answer so that synthetic ids are stable.
type converter struct {
	calls int
}

// convert maps parts in order; a thought signature on a non-thought part
// becomes a signature-only thinking part before it.
func (c *converter) convert(parts []wire.Part) []providers.Part {
	var out []providers.Part
	for _, wp := range parts {
		switch {
		case wp.Thought:
			out = append(out, providers.Part{Kind: providers.PartThinking,
				Thinking: &providers.Thinking{Text: wp.Text, Signature: wp.ThoughtSignature}})
			continue
		case wp.ThoughtSignature != "":
			out = append(out, providers.Part{Kind: providers.PartThinking,
				Thinking: &providers.Thinking{Signature: wp.ThoughtSignature}})
		}
		switch {
		case wp.FunctionCall != nil:
			fc := wp.FunctionCall
			args := strings.TrimSpace(string(fc.Args))
			if args == "" || args == "null" {
				args = "{}"
			}
			id := fc.ID
			if id == "" {
				id = SyntheticID(c.calls, fc.Name, []byte(args))
			}
			c.calls++
			out = append(out, providers.Part{Kind: providers.PartToolCall,
				ToolCall: &providers.ToolCall{ID: id, Name: fc.Name, Arguments: args}})
		case wp.Text != "":
			out = append(out, providers.TextPart(wp.Text))
		}
	}
	return out
}

// parseResponse maps a 2xx generateContent body.
func (p *Provider) parseResponse(body []byte) (*providers.Response, error) {
	var w wire.Response
	if err := wirejson.Unmarshal(body, &w); err != nil {
		return nil, p.malformed(body, err)
	}
	if w.Error != nil {
		return nil, p.eventError(w.Error)
	}
	r := &providers.Response{ID: w.ResponseID, Model: w.ModelVersion, Usage: normalize(w.UsageMetadata)}
	if len(w.Candidates) == 0 {
		if w.PromptFeedback == nil || w.PromptFeedback.BlockReason == "" {
			return nil, p.malformed(body, errNoCandidates)
		}
		// The prompt itself was blocked.
		r.FinishReason = providers.FinishContentFilter
		return r, nil
	}
	cand := w.Candidates[0]
	var c converter
	var parts []providers.Part
	if cand.Content != nil {
		parts = c.convert(cand.Content.Parts)
	}
	var text strings.Builder
	rich := false
	for _, part := range parts {
		if part.Kind == providers.PartText {
			text.WriteString(part.Text)
		} else {
			rich = true
		}
	}
	r.Text = text.String()
	if rich {
		r.Parts = &parts
	}
	r.FinishReason = finishReason(cand.FinishReason, c.calls > 0)
	return r, nil
}
