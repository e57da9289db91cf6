package gemini

import "strings"

// Response is a GenerateContentResponse: a unary answer, or one event of a
// stream (each carries the next parts; the last a finishReason and the
// final usage).
type Response struct {
	Candidates     []Candidate     `json:"candidates,omitempty"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion,omitempty"`
	ResponseID     string          `json:"responseId,omitempty"`
	// Error is set on an error object sent in place of a response (a
	// stream's error event).
	Error *Status `json:"error,omitempty"`
}

// Candidate is one answer.
type Candidate struct {
	Content       *Content       `json:"content,omitempty"`
	FinishReason  string         `json:"finishReason,omitempty"`
	FinishMessage string         `json:"finishMessage,omitempty"`
	SafetyRatings []SafetyRating `json:"safetyRatings,omitempty"`
	Index         int            `json:"index"`
}

// SafetyRating is the probability of harm in one category.
type SafetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

// PromptFeedback says why a prompt was blocked, when it was.
type PromptFeedback struct {
	BlockReason   string         `json:"blockReason,omitempty"`
	SafetyRatings []SafetyRating `json:"safetyRatings,omitempty"`
}

// UsageMetadata counts tokens. PromptTokenCount includes the cached
// tokens; CandidatesTokenCount excludes the thoughts, which
// ThoughtsTokenCount counts (both are billed as output).
type UsageMetadata struct {
	PromptTokenCount        int64 `json:"promptTokenCount,omitempty"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int64 `json:"totalTokenCount,omitempty"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount,omitempty"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount,omitempty"`
}

// Finish reasons (Candidate.finishReason).
const (
	FinishStop                  = "STOP"
	FinishMaxTokens             = "MAX_TOKENS"
	FinishSafety                = "SAFETY"
	FinishRecitation            = "RECITATION"
	FinishLanguage              = "LANGUAGE"
	FinishOther                 = "OTHER"
	FinishBlocklist             = "BLOCKLIST"
	FinishProhibitedContent     = "PROHIBITED_CONTENT"
	FinishSPII                  = "SPII"
	FinishMalformedFunctionCall = "MALFORMED_FUNCTION_CALL"
	FinishImageSafety           = "IMAGE_SAFETY"
	FinishUnexpectedToolCall    = "UNEXPECTED_TOOL_CALL"
	FinishTooManyToolCalls      = "TOO_MANY_TOOL_CALLS"
)

// IsFiltered reports whether a finish or block reason means the vendor's
// filters stopped the answer.
func IsFiltered(reason string) bool {
	switch reason {
	case FinishSafety, FinishRecitation, FinishBlocklist, FinishProhibitedContent,
		FinishSPII, FinishImageSafety, "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return true
	}
	return false
}

// Text is the concatenated non-thought text of c's parts.
func (c *Content) Text() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range c.Parts {
		if !p.Thought {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
