package routing

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
)

// MaxRenderedBytes caps one rendered prompt template, so that variables
// cannot blow a template up (with range, say) into an oversized prompt.
const MaxRenderedBytes = 256 << 10

// PromptData is what a prompt template sees: {{.Vars.name}} is the
// request's variable "name", {{.Record.median_salary}} a field of the
// route's enrichment record (an empty map when none was found or the route
// has none). Record values are as decoded from JSON, numbers keeping their
// text.
type PromptData struct {
	Vars   map[string]string
	Record map[string]any
}

// Prompt is a request's input to its decision's prompt.
type Prompt struct {
	// Vars are the request's variables: template data, and the first
	// place enrichment key values are looked up.
	Vars map[string]string
	// Tags are the caller's tags, where enrichment key values are looked up
	// when no variable holds them.
	Tags map[string]string
	// Messages are the caller's own messages.
	Messages []providers.Message
}

// Record returns the enrichment record for a request with vars and tags:
// an empty map when the route has no enrichment, or has none for the
// request and on_missing is "skip". With on_missing "fail" a missing key
// value is a [*MissingVariableError] and a missing record a
// [*NoEnrichmentError]. The record is shared and must not be changed.
func (d *Decision) Record(vars, tags map[string]string) (map[string]any, error) {
	if d.enrich == nil {
		return emptyRecord, nil
	}
	return d.enrich.lookup(vars, tags)
}

// Messages returns what to send the provider: the variant's system message
// (its system_prompt, then a blank line and its rendered system_template,
// whichever are set and not blank), then its rendered user_template as a
// user message, then p.Messages. A decision without prompt settings (a
// model override) returns p.Messages as they are.
//
// Variables are data: a value is inserted as text, never parsed as a
// template. A variable a template reads but p lacks is a
// [*MissingVariableError]; a rendering over [MaxRenderedBytes] wraps
// [ErrPromptTooLarge]; other template failures wrap [ErrTemplate].
func (d *Decision) Messages(p Prompt) ([]providers.Message, error) {
	if d.SystemPrompt == "" && d.system == nil && d.user == nil && d.enrich == nil {
		return p.Messages, nil
	}
	rec, err := d.Record(p.Vars, p.Tags)
	if err != nil {
		return nil, err
	}
	vars := p.Vars
	if vars == nil {
		vars = map[string]string{}
	}
	data := &PromptData{Vars: vars, Record: rec}
	system := d.SystemPrompt
	if d.system != nil {
		s, err := d.render(d.system, data)
		if err != nil {
			return nil, err
		}
		if !blank(s) {
			if !blank(system) {
				system += "\n\n"
			}
			system += s
		}
	}
	user := ""
	if d.user != nil {
		if user, err = d.render(d.user, data); err != nil {
			return nil, err
		}
	}
	msgs := make([]providers.Message, 0, len(p.Messages)+2)
	if !blank(system) {
		msgs = append(msgs, providers.Message{Role: providers.RoleSystem, Content: system})
	}
	if !blank(user) {
		msgs = append(msgs, providers.Message{Role: providers.RoleUser, Content: user})
	}
	return append(msgs, p.Messages...), nil
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// missingKey matches text/template's error for a map key that is absent
// under missingkey=error.
var missingKey = regexp.MustCompile(`map has no entry for key ("(?:[^"\\]|\\.)*")`)

// render executes t with data, bounded by [MaxRenderedBytes].
func (d *Decision) render(t *config.PromptTemplate, data *PromptData) (string, error) {
	w := &boundedWriter{limit: MaxRenderedBytes}
	err := t.Execute(w, data)
	if err == nil {
		return w.b.String(), nil
	}
	where := fmt.Sprintf("route %s variant %s: %s", d.Route, d.Variant, t.Name())
	if errors.Is(err, errRenderLimit) {
		return "", fmt.Errorf("%s: %w: larger than %d bytes", where, ErrPromptTooLarge, MaxRenderedBytes)
	}
	if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
		if name, uerr := strconv.Unquote(m[1]); uerr == nil {
			if _, sent := data.Vars[name]; !sent && slices.Contains(t.Vars(), name) {
				return "", &MissingVariableError{Route: d.Route, Variant: d.Variant, Source: t.Name(), Name: name}
			}
		}
	}
	return "", fmt.Errorf("%s: %w: %w", where, ErrTemplate, err)
}

var errRenderLimit = errors.New("render limit reached")

// boundedWriter collects up to limit bytes and fails past them.
type boundedWriter struct {
	b     strings.Builder
	limit int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.limit {
		return 0, errRenderLimit
	}
	return w.b.Write(p)
}
