package resilience

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/schemacheck"
)

// SchemaCheck says whether an answer was checked against the request's
// JSON Schema (and its tool calls against their tools' parameters).
type SchemaCheck int32

// Outcomes of the schema check.
const (
	// SchemaNotApplicable: the request asked for no JSON Schema and
	// declared no tool with parameters.
	SchemaNotApplicable SchemaCheck = iota
	// SchemaChecked: the answer satisfies its schemas.
	SchemaChecked
	// SchemaUnchecked: a schema was asked for but the answer was not
	// validated, or did not match and the route passes mismatches through;
	// also a stale or degraded answer, and a stream not yet at its end.
	SchemaUnchecked
)

// SchemaObserver is an [Observer] that also hears of every answer that
// failed its schema check, found by type assertion.
type SchemaObserver interface {
	SchemaMismatch(route, provider string)
}

// schemaPolicy is what the chain does with an answer that fails its
// schema check: one of config's OnSchemaMismatch values.
type schemaPolicy = string

// WithSchemaMismatch sets what the chain does with an answer that fails its
// schema check (config.OnSchemaMismatchRetry, ...FailOver, ...Pass; ""
// means retry).
func WithSchemaMismatch(policy string) ChainOption {
	return func(c *Chain) {
		if policy == "" {
			policy = config.OnSchemaMismatchRetry
		}
		c.onMismatch = policy
	}
}

// NeedsSchemaCheck reports whether an answer to req is checked at all: it
// asks for a JSON Schema answer, or declares a tool with parameters.
func NeedsSchemaCheck(req *providers.Request) bool { return needsCheck(req) }

// needsCheck reports whether an answer to req is checked at all.
func needsCheck(req *providers.Request) bool {
	if req.ResponseFormat.Type == providers.FormatJSONSchema && len(req.ResponseFormat.Schema) > 0 {
		return true
	}
	for _, t := range req.Tools {
		if len(t.Parameters) > 0 {
			return true
		}
	}
	return false
}

// checkAnswer validates a whole answer: its text against the response
// format's schema, each tool call against its tool. It returns nil, or a
// providers error of kind schema_mismatch.
func checkAnswer(provider string, req *providers.Request, text string, calls []providers.ToolCall) error {
	if req.ResponseFormat.Type == providers.FormatJSONSchema && len(req.ResponseFormat.Schema) > 0 && (len(calls) == 0 || strings.TrimSpace(text) != "") {
		s, err := schemacheck.Shared.Compile(req.ResponseFormat.Schema)
		if err != nil {
			// Request validation refuses invalid schemas; one that gets
			// here is the caller's mistake all the same.
			return &providers.Error{Kind: providers.KindBadRequest, Provider: provider, Message: err.Error(), Err: err}
		}
		if err := s.Validate([]byte(text)); err != nil {
			return schemacheck.Mismatch(provider, err)
		}
	}
	for _, call := range calls {
		err := schemacheck.Shared.ValidateToolCall(req.Tools, call)
		var ise *schemacheck.InvalidSchemaError
		if errors.As(err, &ise) {
			return &providers.Error{Kind: providers.KindBadRequest, Provider: provider, Message: err.Error(), Err: err}
		}
		if err != nil {
			return schemacheck.Mismatch(provider, err)
		}
	}
	return nil
}

// toolCalls lists the tool calls of a whole answer.
func toolCalls(resp *providers.Response) []providers.ToolCall {
	var calls []providers.ToolCall
	for _, p := range resp.PartList() {
		if p.Kind == providers.PartToolCall && p.ToolCall != nil {
			calls = append(calls, *p.ToolCall)
		}
	}
	return calls
}

// isMismatch reports whether err is a failed schema check.
func isMismatch(err error) bool {
	return providers.KindOf(err) == providers.KindSchemaMismatch
}

// gateMismatch applies the route's policy to a failed check of an
// attempt's answer: retry returns it as it is (retryable), fail_over marks
// it to move on to the next provider without retrying.
func gateMismatch(policy schemaPolicy, err error) error {
	if policy == config.OnSchemaMismatchFailOver {
		return &errFailoverNow{err}
	}
	return err
}

// schemaVerdict is the outcome of a stream's check, known at its end.
type schemaVerdict struct{ v atomic.Int32 }

func (s *schemaVerdict) set(c SchemaCheck) { s.v.Store(int32(c)) }

// get is the outcome so far.
func (s *schemaVerdict) get() SchemaCheck { return SchemaCheck(s.v.Load()) }

// gate is what a request's attempts need to check their answers.
type gate struct {
	route  string
	policy schemaPolicy
	obs    SchemaObserver // nil: nobody counts mismatches
}

// mismatch reports a failed check of provider's answer.
func (g *gate) mismatch(provider string) {
	if g.obs != nil {
		g.obs.SchemaMismatch(g.route, provider)
	}
}

// check validates a whole answer of an attempt. It returns the verdict to
// attach to the answer, or the attempt's error under the route's policy.
func (g *gate) check(provider string, req *providers.Request, resp *providers.Response) (*schemaVerdict, error) {
	v := &schemaVerdict{}
	if !needsCheck(req) {
		return v, nil
	}
	err := checkAnswer(provider, req, resp.Text, toolCalls(resp))
	switch {
	case err == nil:
		v.set(SchemaChecked)
		return v, nil
	case !isMismatch(err):
		return nil, err
	}
	g.mismatch(provider)
	if g.policy == config.OnSchemaMismatchPass {
		v.set(SchemaUnchecked)
		return v, nil
	}
	return nil, gateMismatch(g.policy, err)
}

// streamChecker gathers a stream's text and tool calls and checks them
// when the stream ends.
type streamChecker struct {
	gate     *gate
	provider string
	req      *providers.Request
	verdict  *schemaVerdict
	text     strings.Builder
	calls    []providers.ToolCall
}

func newStreamChecker(g *gate, provider string, req *providers.Request) *streamChecker {
	c := &streamChecker{gate: g, provider: provider, req: req, verdict: &schemaVerdict{}}
	c.verdict.set(SchemaUnchecked)
	return c
}

// add takes in one chunk.
func (c *streamChecker) add(ch providers.Chunk) {
	c.text.WriteString(ch.Delta)
	if d := ch.ToolCall; d != nil {
		for len(c.calls) <= d.Index {
			c.calls = append(c.calls, providers.ToolCall{})
		}
		tc := &c.calls[d.Index]
		if d.ID != "" {
			tc.ID = d.ID
		}
		if d.Name != "" {
			tc.Name = d.Name
		}
		tc.Arguments += d.Arguments
	}
}

// done checks the whole answer at the stream's last chunk. It returns the
// error that ends the stream instead, or nil.
func (c *streamChecker) done() error {
	err := checkAnswer(c.provider, c.req, c.text.String(), c.calls)
	switch {
	case err == nil:
		c.verdict.set(SchemaChecked)
		return nil
	case !isMismatch(err):
		return err
	}
	c.gate.mismatch(c.provider)
	if c.gate.policy == config.OnSchemaMismatchPass {
		return nil
	}
	return err
}

// SchemaCheck says whether the answer was checked against its schemas. For
// a stream it is [SchemaUnchecked] until the stream has delivered its last
// chunk.
func (a *Answer) SchemaCheck() SchemaCheck {
	if a == nil || a.schema == nil {
		return SchemaNotApplicable
	}
	return a.schema.get()
}

// markUnchecked gives an answer that no attempt checked (stale, degraded)
// its verdict.
func markUnchecked(ans *Answer, req *providers.Request) {
	if ans == nil || ans.schema != nil || req == nil {
		return
	}
	v := &schemaVerdict{}
	if needsCheck(req) {
		v.set(SchemaUnchecked)
	}
	ans.schema = v
}
