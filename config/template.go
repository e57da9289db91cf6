package config

import (
	"fmt"
	"io"
	"slices"
	"text/template"
	"text/template/parse"
)

// MaxTemplateBytes caps a prompt template's source.
const MaxTemplateBytes = 64 << 10

// The fields prompt templates see at their root.
const (
	// TemplateVars is the field holding the request's variables,
	// a map[string]string: {{.Vars.name}}.
	TemplateVars = "Vars"
	// TemplateRecord is the field holding the route's enrichment record,
	// a map[string]any, empty when no record was found: {{.Record.median_salary}}.
	TemplateRecord = "Record"
)

// PromptTemplate is a variant's parsed prompt template: Go text/template
// with the option missingkey=error and no extra functions. Templates see
// two fields, .Vars and .Record (see [TemplateVars], [TemplateRecord]);
// the values they render are data, never parsed as templates.
type PromptTemplate struct {
	tmpl       *template.Template
	vars       []string
	usesRecord bool
	unguarded  []string
	fields     []string
}

// ParsePromptTemplate parses a prompt template and checks what it reads:
// any root field other than .Vars and .Record is an error.
func ParsePromptTemplate(name, text string) (*PromptTemplate, error) {
	if len(text) > MaxTemplateBytes {
		return nil, fmt.Errorf("template is larger than %d bytes", MaxTemplateBytes)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	w := &walker{tmpl: tmpl, seen: map[walkKey]bool{}}
	if tmpl.Tree != nil {
		w.walk(tmpl.Root, scope{dot: dotRoot})
	}
	if len(w.unknown) > 0 {
		return nil, fmt.Errorf("template reads .%s; templates see only .%s and .%s", w.unknown[0], TemplateVars, TemplateRecord)
	}
	t := &PromptTemplate{tmpl: tmpl, usesRecord: w.usesRecord}
	t.vars = sortedSet(w.vars)
	t.unguarded = sortedSet(w.unguarded)
	t.fields = sortedSet(w.fields)
	return t, nil
}

// Execute renders the template with data into w.
func (t *PromptTemplate) Execute(w io.Writer, data any) error { return t.tmpl.Execute(w, data) }

// Name is the template's name.
func (t *PromptTemplate) Name() string { return t.tmpl.Name() }

// Vars lists, sorted, the variables the template reads by name
// ({{.Vars.name}}, or {{.name}} inside {{with .Vars}}).
func (t *PromptTemplate) Vars() []string { return t.vars }

// UsesRecord reports whether the template reads .Record.
func (t *PromptTemplate) UsesRecord() bool { return t.usesRecord }

// UnguardedRecordFields lists, sorted, the record fields the template
// reads outside {{with .Record}} or {{if .Record}}; with an empty record
// these fail.
func (t *PromptTemplate) UnguardedRecordFields() []string { return t.unguarded }

// RecordFields lists, sorted, every record field the template reads
// ({{.Record.name}}, or {{.name}} inside {{with .Record}}).
func (t *PromptTemplate) RecordFields() []string { return t.fields }

type dotKind uint8

const (
	dotOther  dotKind = iota // an unknown value
	dotRoot                  // the template data
	dotVars                  // .Vars
	dotRecord                // .Record
)

// scope is what the walker knows at one point of a template.
type scope struct {
	dot     dotKind
	guarded bool // .Record is known not to be empty
}

type walkKey struct {
	name string
	s    scope
}

type walker struct {
	tmpl                     *template.Template
	seen                     map[walkKey]bool
	vars, unguarded, unknown []string
	fields                   []string // record fields read
	usesRecord               bool
}

func (w *walker) walk(n parse.Node, s scope) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			w.walk(c, s)
		}
	case *parse.ActionNode:
		w.pipe(n.Pipe, s)
	case *parse.IfNode:
		w.pipe(n.Pipe, s)
		body := s
		if isRecord(n.Pipe, s) {
			body.guarded = true
		}
		w.walk(n.List, body)
		w.walk(n.ElseList, s)
	case *parse.WithNode:
		w.pipe(n.Pipe, s)
		body := scope{dot: dotOther, guarded: s.guarded}
		switch {
		case isRecord(n.Pipe, s):
			body = scope{dot: dotRecord, guarded: true}
		case isVars(n.Pipe, s):
			body.dot = dotVars
		}
		w.walk(n.List, body)
		w.walk(n.ElseList, s)
	case *parse.RangeNode:
		w.pipe(n.Pipe, s)
		w.walk(n.List, scope{dot: dotOther, guarded: s.guarded})
		w.walk(n.ElseList, s)
	case *parse.TemplateNode:
		w.pipe(n.Pipe, s)
		inner := scope{dot: dotOther}
		if n.Pipe != nil && len(n.Pipe.Cmds) == 1 && len(n.Pipe.Cmds[0].Args) == 1 {
			if _, ok := n.Pipe.Cmds[0].Args[0].(*parse.DotNode); ok {
				inner = s
			}
		}
		key := walkKey{n.Name, inner}
		if t := w.tmpl.Lookup(n.Name); t != nil && t.Tree != nil && !w.seen[key] {
			w.seen[key] = true
			w.walk(t.Root, inner)
		}
	}
}

func (w *walker) pipe(p *parse.PipeNode, s scope) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			w.arg(a, s)
		}
	}
}

func (w *walker) arg(a parse.Node, s scope) {
	switch a := a.(type) {
	case *parse.FieldNode:
		w.chain(a.Ident, s)
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			w.chain(a.Ident[1:], scope{dot: dotRoot, guarded: s.guarded})
		}
	case *parse.ChainNode:
		w.arg(a.Node, s)
	case *parse.PipeNode:
		w.pipe(a, s)
	}
}

// chain records a field chain read with dot s.
func (w *walker) chain(ident []string, s scope) {
	switch s.dot {
	case dotVars:
		w.vars = append(w.vars, ident[0])
	case dotRecord:
		w.fields = append(w.fields, ident[0])
	case dotRoot:
		switch ident[0] {
		case TemplateVars:
			if len(ident) > 1 {
				w.vars = append(w.vars, ident[1])
			}
		case TemplateRecord:
			w.usesRecord = true
			if len(ident) > 1 {
				w.fields = append(w.fields, ident[1])
				if !s.guarded {
					w.unguarded = append(w.unguarded, ident[1])
				}
			}
		default:
			w.unknown = append(w.unknown, ident[0])
		}
	}
}

// isRecord reports whether p is exactly .Record (or $.Record) seen from s.
func isRecord(p *parse.PipeNode, s scope) bool { return isRootField(p, s, TemplateRecord) }

// isVars reports whether p is exactly .Vars (or $.Vars) seen from s.
func isVars(p *parse.PipeNode, s scope) bool { return isRootField(p, s, TemplateVars) }

func isRootField(p *parse.PipeNode, s scope, field string) bool {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return s.dot == dotRoot && len(a.Ident) == 1 && a.Ident[0] == field
	case *parse.VariableNode:
		return len(a.Ident) == 2 && a.Ident[0] == "$" && a.Ident[1] == field
	}
	return false
}

func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
