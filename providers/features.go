package providers

// Feature is something a request may ask for beyond plain-text messages
// and sampling parameters. A backend that cannot honour a feature a
// request needs must refuse the request by name before sending anything:
// see [Unsupported].
type Feature string

// The features a request may need, named after the contract's fields.
const (
	FeatureTools             Feature = "tools"
	FeatureToolChoice        Feature = "tool_choice"
	FeatureParallelToolCalls Feature = "parallel_tool_calls"
	FeatureJSONObject        Feature = "response_format.json_object"
	FeatureJSONSchema        Feature = "response_format.json_schema"
	FeatureReasoningEffort   Feature = "reasoning.effort"
	FeatureReasoningBudget   Feature = "reasoning.budget_tokens"
	FeatureParts             Feature = "messages.parts"
	FeatureImages            Feature = "messages.parts.image"
	FeatureToolCalls         Feature = "messages.parts.tool_call"
	FeatureToolResults       Feature = "messages.parts.tool_result"
	FeatureThinking          Feature = "messages.parts.thinking"
	FeaturePromptCache       Feature = "cache_point"
)

// Features lists what req needs beyond plain text, each once, in the
// order of the constants above.
func (r *Request) Features() []Feature {
	var need [len(featureOrder)]bool
	mark := func(f Feature) { need[featureIndex(f)] = true }
	if len(r.Tools) > 0 {
		mark(FeatureTools)
	}
	if r.ToolChoice.Mode != ToolChoiceDefault {
		mark(FeatureToolChoice)
	}
	if r.ParallelToolCalls != nil {
		mark(FeatureParallelToolCalls)
	}
	switch r.ResponseFormat.Type {
	case FormatJSONObject:
		mark(FeatureJSONObject)
	case FormatJSONSchema:
		mark(FeatureJSONSchema)
	}
	if r.Reasoning.Effort != EffortDefault {
		mark(FeatureReasoningEffort)
	}
	if r.Reasoning.BudgetTokens > 0 {
		mark(FeatureReasoningBudget)
	}
	for _, m := range r.Messages {
		if m.CachePoint != nil {
			mark(FeaturePromptCache)
		}
		if len(m.Parts) > 0 {
			mark(FeatureParts)
		}
		for _, p := range m.Parts {
			if p.CachePoint != nil {
				mark(FeaturePromptCache)
			}
			switch p.Kind {
			case PartImage:
				mark(FeatureImages)
			case PartToolCall:
				mark(FeatureToolCalls)
			case PartToolResult:
				mark(FeatureToolResults)
			case PartThinking:
				mark(FeatureThinking)
			}
		}
	}
	var out []Feature
	for i, ok := range need {
		if ok {
			out = append(out, featureOrder[i])
		}
	}
	return out
}

var featureOrder = [...]Feature{
	FeatureTools, FeatureToolChoice, FeatureParallelToolCalls, FeatureJSONObject, FeatureJSONSchema,
	FeatureReasoningEffort, FeatureReasoningBudget, FeatureParts, FeatureImages, FeatureToolCalls,
	FeatureToolResults, FeatureThinking, FeaturePromptCache,
}

func featureIndex(f Feature) int {
	for i, o := range featureOrder {
		if o == f {
			return i
		}
	}
	panic("providers: unknown feature " + string(f))
}

// FeatureSupporter is implemented by backends that honour features beyond
// plain text. Supports reports whether the backend honours f for model
// exactly, both ways (streamed answers included).
type FeatureSupporter interface {
	Supports(f Feature, model string) bool
}

// Unsupported lists the features req needs that p cannot honour for
// req.Model. A backend that does not implement [FeatureSupporter] honours
// none.
func Unsupported(p Provider, req *Request) []Feature {
	need := req.Features()
	if len(need) == 0 {
		return nil
	}
	fs, _ := p.(FeatureSupporter)
	var out []Feature
	for _, f := range need {
		if fs == nil || !fs.Supports(f, req.Model) {
			out = append(out, f)
		}
	}
	return out
}
