package schemacheck

import (
	"encoding/json"
	"math/big"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// maxExampleDepth bounds the nesting of an example, so that a recursive
// schema (a tree of $refs) ends.
const maxExampleDepth = 16

// maxExampleValues bounds the values of an example and maxExampleString
// the length of its strings, so that {"minItems": 1e9} or nested arrays
// cannot make it large; past the bounds the example falls short of the
// schema.
const (
	maxExampleValues = 10_000
	maxExampleString = 4096
)

// generator builds one example within its budget of values.
type generator struct {
	budget int
}

// Example builds a JSON value that satisfies s, the same for the same
// schema every time. It follows $ref, takes the first of an anyOf or oneOf
// and merges the objects of an allOf; an object gets its required
// properties, an array its minItems, an enum its first value, a string its
// format's example (date-time, date, time, email, uri, uuid, hostname,
// ipv4, ipv6, duration) or "example" cut or padded to its length bounds,
// a string matching its pattern (shortest repetitions, first
// alternatives), a number the smallest value its bounds allow. It does
// not solve not, if/then/else, uniqueItems or multipleOf beyond integers,
// nor patterns and lengths together: the result may fail such schemas,
// which [Schema.Validate] would say.
func (s *Schema) Example() json.RawMessage {
	g := &generator{budget: maxExampleValues}
	b, err := json.Marshal(g.example(s.s, 0))
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func (g *generator) example(s *jsonschema.Schema, depth int) any {
	if s == nil || depth > maxExampleDepth || g.budget <= 0 {
		return nil
	}
	g.budget--
	switch {
	case s.Ref != nil:
		return g.example(s.Ref, depth+1)
	case s.Const != nil:
		return *s.Const
	case s.Enum != nil && len(s.Enum.Values) > 0:
		return s.Enum.Values[0]
	case s.Default != nil:
		return *s.Default
	case len(s.AllOf) > 0:
		return g.allOf(s, depth)
	case len(s.AnyOf) > 0:
		return g.example(s.AnyOf[0], depth+1)
	case len(s.OneOf) > 0:
		return g.example(s.OneOf[0], depth+1)
	}
	switch exampleType(s) {
	case "object":
		return g.object(s, depth)
	case "array":
		return g.array(s, depth)
	case "string":
		return str(s)
	case "integer":
		return integer(s)
	case "number":
		return number(s)
	case "boolean":
		return false
	}
	return nil
}

// exampleType is the type an example of s takes: the first of its types
// in the order below, else what its keywords suggest.
func exampleType(s *jsonschema.Schema) string {
	if s.Types != nil && !s.Types.IsEmpty() {
		types := s.Types.ToStrings()
		for _, t := range []string{"object", "array", "string", "integer", "number", "boolean", "null"} {
			if slices.Contains(types, t) {
				return t
			}
		}
	}
	switch {
	case s.Properties != nil || len(s.Required) > 0:
		return "object"
	case s.Items2020 != nil || s.PrefixItems != nil || s.Items != nil:
		return "array"
	case s.MinLength != nil || s.MaxLength != nil || s.Format != nil:
		return "string"
	case s.Minimum != nil || s.Maximum != nil:
		return "number"
	}
	return "null"
}

func (g *generator) allOf(s *jsonschema.Schema, depth int) any {
	merged := map[string]any{}
	var last any
	objects := true
	for _, sub := range append([]*jsonschema.Schema{withoutAllOf(s)}, s.AllOf...) {
		v := g.example(sub, depth+1)
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				merged[k] = x
			}
			continue
		}
		if v != nil {
			objects, last = false, v
		}
	}
	if !objects {
		return last
	}
	return merged
}

// withoutAllOf is s's own keywords, for merging with its allOf.
func withoutAllOf(s *jsonschema.Schema) *jsonschema.Schema {
	if s.Types == nil && s.Properties == nil && len(s.Required) == 0 {
		return nil
	}
	c := *s
	c.AllOf = nil
	return &c
}

func (g *generator) object(s *jsonschema.Schema, depth int) any {
	out := map[string]any{}
	for _, name := range s.Required {
		if p, ok := s.Properties[name]; ok {
			out[name] = g.example(p, depth+1)
			continue
		}
		if ap, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
			out[name] = g.example(ap, depth+1)
			continue
		}
		out[name] = nil
	}
	return out
}

func (g *generator) array(s *jsonschema.Schema, depth int) any {
	n := 0
	if s.MinItems != nil {
		n = min(*s.MinItems, g.budget)
	}
	prefix := s.PrefixItems
	if items, ok := s.Items.([]*jsonschema.Schema); ok { // before 2020-12
		prefix = items
	}
	out := make([]any, 0, n)
	for i := range n {
		switch {
		case i < len(prefix):
			out = append(out, g.example(prefix[i], depth+1))
		case s.Items2020 != nil:
			out = append(out, g.example(s.Items2020, depth+1))
		default:
			if it, ok := s.Items.(*jsonschema.Schema); ok {
				out = append(out, g.example(it, depth+1))
			} else if ai, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
				out = append(out, g.example(ai, depth+1))
			} else {
				out = append(out, nil)
			}
		}
	}
	return out
}

// formatExamples are valid values of the formats the 2020-12 draft names.
var formatExamples = map[string]string{
	"date-time":     "2026-01-15T09:30:00Z",
	"date":          "2026-01-15",
	"time":          "09:30:00Z",
	"duration":      "P1D",
	"email":         "user@example.com",
	"idn-email":     "user@example.com",
	"hostname":      "example.com",
	"idn-hostname":  "example.com",
	"ipv4":          "192.0.2.1",
	"ipv6":          "2001:db8::1",
	"uri":           "https://example.com/",
	"uri-reference": "https://example.com/",
	"iri":           "https://example.com/",
	"iri-reference": "https://example.com/",
	"uri-template":  "https://example.com/{id}",
	"uuid":          "00000000-0000-4000-8000-000000000000",
	"json-pointer":  "/example",
	"regex":         "^example$",
}

func str(s *jsonschema.Schema) string {
	if s.Format != nil {
		if v, ok := formatExamples[s.Format.Name]; ok {
			return v
		}
	}
	if s.Pattern != nil {
		if v, ok := matching(s.Pattern.String()); ok {
			return v
		}
	}
	v := "example"
	if s.MaxLength != nil && len(v) > *s.MaxLength {
		v = v[:max(*s.MaxLength, 0)]
	}
	if s.MinLength != nil && len(v) < *s.MinLength {
		v += strings.Repeat("x", min(*s.MinLength, maxExampleString)-len(v))
	}
	return v
}

// matching is a string the regular expression matches: the shortest
// repetition, the first alternative and the lowest character of every
// class. ok is false for an expression it cannot satisfy that way.
func matching(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !writeMatch(&b, re.Simplify(), 0) {
		return "", false
	}
	return b.String(), true
}

func writeMatch(b *strings.Builder, re *syntax.Regexp, depth int) bool {
	if depth > 64 || b.Len() > maxExampleString {
		return false
	}
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
		return true
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		r := re.Rune[0]
		// A printable character of the class, if its first range has one.
		if r < ' ' && re.Rune[1] >= 'a' {
			r = 'a'
		} else if r < ' ' && re.Rune[1] >= ' ' {
			r = ' '
		}
		b.WriteRune(r)
		return true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
		return true
	case syntax.OpCapture:
		return writeMatch(b, re.Sub[0], depth+1)
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpPlus:
		return writeMatch(b, re.Sub[0], depth+1)
	case syntax.OpRepeat:
		for range min(re.Min, maxExampleString) {
			if !writeMatch(b, re.Sub[0], depth+1) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !writeMatch(b, sub, depth+1) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		return len(re.Sub) > 0 && writeMatch(b, re.Sub[0], depth+1)
	}
	return false
}

func integer(s *jsonschema.Schema) json.Number {
	lo, hi := bounds(s)
	v := new(big.Rat)
	if lo != nil {
		v = ceilRat(lo.r)
		if lo.exclusive && v.Cmp(lo.r) == 0 {
			v.Add(v, big.NewRat(1, 1))
		}
	} else if hi != nil && hi.r.Sign() < 0 {
		v = floorRat(hi.r)
		if hi.exclusive && v.Cmp(hi.r) == 0 {
			v.Sub(v, big.NewRat(1, 1))
		}
	}
	if m := s.MultipleOf; m != nil && m.IsInt() && m.Sign() > 0 {
		// The next multiple at or above v.
		q := new(big.Rat).Quo(v, m)
		v.Mul(ceilRat(q), m)
	}
	return json.Number(v.Num().String())
}

func number(s *jsonschema.Schema) json.Number {
	lo, hi := bounds(s)
	switch {
	case lo != nil && !lo.exclusive:
		return ratNumber(lo.r)
	case lo != nil && hi != nil:
		// Halfway between exclusive bounds.
		mid := new(big.Rat).Add(lo.r, hi.r)
		return ratNumber(mid.Quo(mid, big.NewRat(2, 1)))
	case lo != nil:
		return ratNumber(new(big.Rat).Add(lo.r, big.NewRat(1, 1)))
	case hi != nil && hi.r.Sign() < 0:
		return ratNumber(new(big.Rat).Sub(hi.r, big.NewRat(1, 1)))
	}
	return "0"
}

type bound struct {
	r         *big.Rat
	exclusive bool
}

// bounds are s's lower and upper bounds, nil when it has none.
func bounds(s *jsonschema.Schema) (lo, hi *bound) {
	switch {
	case s.ExclusiveMinimum != nil && (s.Minimum == nil || s.ExclusiveMinimum.Cmp(s.Minimum) >= 0):
		lo = &bound{r: s.ExclusiveMinimum, exclusive: true}
	case s.Minimum != nil:
		lo = &bound{r: s.Minimum}
	}
	switch {
	case s.ExclusiveMaximum != nil && (s.Maximum == nil || s.ExclusiveMaximum.Cmp(s.Maximum) <= 0):
		hi = &bound{r: s.ExclusiveMaximum, exclusive: true}
	case s.Maximum != nil:
		hi = &bound{r: s.Maximum}
	}
	return lo, hi
}

func ratNumber(r *big.Rat) json.Number {
	if r.IsInt() {
		return json.Number(r.Num().String())
	}
	f, _ := r.Float64()
	return json.Number(big.NewFloat(f).Text('g', -1))
}

func floorRat(r *big.Rat) *big.Rat {
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: rounds toward -inf for positive denominators
	return new(big.Rat).SetInt(q)
}

func ceilRat(r *big.Rat) *big.Rat {
	f := floorRat(r)
	if f.Cmp(r) != 0 {
		f.Add(f, big.NewRat(1, 1))
	}
	return f
}
