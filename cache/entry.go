package cache

import (
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// State is what a lookup found.
type State int

// The states of a lookup.
const (
	// Miss: no entry, or one past its stale limit.
	Miss State = iota
	// Fresh: an entry within its time-to-live; it may answer the request.
	Fresh
	// Stale: an entry past its time-to-live but within its stale limit;
	// only the failover chain's stale-if-error step may use it.
	Stale
)

var stateNames = [...]string{"miss", "fresh", "stale"}

// String is the state's stable name, usable as a metric label.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// Entry is one cached answer and its lifetime.
type Entry struct {
	// Text is the whole answer's text.
	Text string
	// Parts, when non-nil, are the answer in order (text, tool calls,
	// thinking) when it is more than text; nil for a text-only answer. A
	// pointer, as in [providers.Response], so that an Entry stays
	// comparable with ==; see [Entry.PartList].
	Parts *[]providers.Part
	// FinishReason says why generation stopped.
	FinishReason providers.FinishReason
	// Usage is what the answer cost when it was produced.
	Usage providers.Usage
	// Provider and Model answered; ResponseID is the vendor's id.
	Provider, Model, ResponseID string

	// CreatedAt is when the entry was stored. [Store.Set] stamps it and
	// the two limits below, in UTC, from the store's clock.
	CreatedAt time.Time
	// ExpiresAt ends the entry's time-to-live: until then it is [Fresh].
	ExpiresAt time.Time
	// StaleUntil ends the entry's stale period: until then it is [Stale],
	// after it is gone.
	StaleUntil time.Time
}

// NewEntry returns the entry for r, answered by the named provider.
func NewEntry(provider string, r *providers.Response) Entry {
	return Entry{
		Text:         r.Text,
		Parts:        r.Parts,
		FinishReason: r.FinishReason,
		Usage:        r.Usage,
		Provider:     provider,
		Model:        r.Model,
		ResponseID:   r.ID,
	}
}

// Response returns the entry's answer in the providers' shape.
func (e Entry) Response() *providers.Response {
	r := &providers.Response{
		ID:           e.ResponseID,
		Model:        e.Model,
		Text:         e.Text,
		FinishReason: e.FinishReason,
		Usage:        e.Usage,
	}
	if e.Parts != nil {
		parts := cloneParts(*e.Parts)
		r.Parts = &parts
	}
	return r
}

// PartList is the entry's parts, nil for a text-only answer.
func (e Entry) PartList() []providers.Part {
	if e.Parts == nil {
		return nil
	}
	return *e.Parts
}

// Storable reports whether r can be cached exactly: its parts are text,
// tool calls and thinking only, none marked as a prompt-cache point. An
// answer the entry cannot hold whole is not cached, never replayed lossy.
func Storable(r *providers.Response) bool {
	for _, p := range r.PartList() {
		if p.CachePoint != nil {
			return false
		}
		switch {
		case p.Kind == providers.PartText:
		case p.Kind == providers.PartToolCall && p.ToolCall != nil:
		case p.Kind == providers.PartThinking && p.Thinking != nil:
		default:
			return false
		}
	}
	return true
}

// State is the entry's state at now. An entry that was never stored (zero
// limits) is a [Miss].
func (e Entry) State(now time.Time) State {
	switch {
	case now.Before(e.ExpiresAt):
		return Fresh
	case now.Before(e.StaleUntil):
		return Stale
	}
	return Miss
}

// stamp sets the entry's lifetime, starting at now.
func (e *Entry) stamp(now time.Time, ttl, maxStale time.Duration) {
	now = now.UTC().Round(0)
	e.CreatedAt = now
	e.ExpiresAt = now.Add(ttl)
	e.StaleUntil = e.ExpiresAt.Add(maxStale)
}
