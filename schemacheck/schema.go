package schemacheck

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/maypok86/otter/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/careerpath/llmgateway/providers"
)

// ErrNotJSON is an answer that is not one JSON value.
var ErrNotJSON = errors.New("the answer is not valid JSON")

// InvalidSchemaError is a schema that is not JSON, or not a valid JSON
// Schema, or that refers to another document.
type InvalidSchemaError struct {
	// Reason says what is wrong.
	Reason string
}

func (e *InvalidSchemaError) Error() string { return "invalid JSON Schema: " + e.Reason }

// MismatchError is a JSON value that does not satisfy its schema.
type MismatchError struct {
	// Path is the JSON Pointer of the first failing value ("" for the
	// whole value), e.g. "/milestones/0/due".
	Path string
	// Reason says what is wrong with it, e.g. "missing property 'title'".
	Reason string
}

func (e *MismatchError) Error() string {
	path := e.Path
	if path == "" {
		path = "/"
	}
	return "the answer does not match its schema at " + path + ": " + e.Reason
}

// Schema is a compiled JSON Schema, safe for concurrent use.
type Schema struct {
	s *jsonschema.Schema
}

// printer words the library's messages in English.
var printer = message.NewPrinter(language.English)

// schemaURL is where a caller's schema is filed while it compiles; its
// scheme has no loader, so nothing is ever fetched.
const schemaURL = "urn:llmgateway:schema"

// Compile compiles a JSON Schema given as JSON text.
func Compile(schema []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, &InvalidSchemaError{Reason: "not valid JSON: " + err.Error()}
	}
	if _, ok := doc.(map[string]any); !ok {
		if _, isBool := doc.(bool); !isBool {
			return nil, &InvalidSchemaError{Reason: "a schema is a JSON object or a boolean"}
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// An answer with "due": "2027-02-30" is not a date: formats are
	// checked, as OpenAI's strict mode generates them.
	c.AssertFormat()
	// No loader: a $ref to another document fails instead of reading a
	// file (the library's default) or fetching a URL.
	c.UseLoader(jsonschema.SchemeURLLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, &InvalidSchemaError{Reason: err.Error()}
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, &InvalidSchemaError{Reason: compileReason(err)}
	}
	return &Schema{s: s}, nil
}

// compileReason words a compile error without the library's internal
// document URL.
func compileReason(err error) string {
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		return fmt.Sprintf("refers to %q; only references within the schema are allowed", le.URL)
	}
	msg := strings.ReplaceAll(err.Error(), `"`+schemaURL+`"`, "the schema")
	return strings.ReplaceAll(msg, schemaURL, "")
}

// Validate checks that answer is one JSON value satisfying s. It returns
// nil, [ErrNotJSON] or a [*MismatchError].
func (s *Schema) Validate(answer []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(answer))
	if err != nil {
		return ErrNotJSON
	}
	return s.ValidateValue(v)
}

// ValidateValue checks a decoded JSON value (numbers as json.Number or
// float64) against s. It returns nil or a [*MismatchError].
func (s *Schema) ValidateValue(v any) error {
	err := s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &MismatchError{Reason: err.Error()}
	}
	leaf := firstLeaf(ve)
	return &MismatchError{Path: pointer(leaf.InstanceLocation), Reason: leaf.ErrorKind.LocalizedString(printer)}
}

// firstLeaf is the first innermost cause: the most specific failure.
func firstLeaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	return ve
}

// pointer writes a location as a JSON Pointer (RFC 6901).
func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		tok = strings.ReplaceAll(tok, "~", "~0")
		b.WriteString(strings.ReplaceAll(tok, "/", "~1"))
	}
	return b.String()
}

// Cache compiles schemas once: compiled schemas are kept by the SHA-256 of
// their text, at most a bounded number, the least useful evicted first.
// It is safe for concurrent use.
type Cache struct {
	c *otter.Cache[[sha256.Size]byte, *Schema]
}

// DefaultCacheEntries is the bound [NewCache] uses for 0.
const DefaultCacheEntries = 1024

// Shared is the process's cache. A compiled schema depends on nothing but
// its text, so every user shares one: the request validator compiles a
// caller's schema once, and the check of the answer finds it compiled.
var Shared = NewCache(0)

// NewCache returns a cache of at most entries compiled schemas
// ([DefaultCacheEntries] when entries is 0 or less).
func NewCache(entries int) *Cache {
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	return &Cache{c: otter.Must(&otter.Options[[sha256.Size]byte, *Schema]{MaximumSize: entries})}
}

// Compile returns the compiled schema, compiling it only when it is not
// cached. Invalid schemas are not cached.
func (c *Cache) Compile(schema []byte) (*Schema, error) {
	key := sha256.Sum256(schema)
	if s, ok := c.c.GetIfPresent(key); ok {
		return s, nil
	}
	s, err := Compile(schema)
	if err != nil {
		return nil, err
	}
	c.c.Set(key, s)
	return s, nil
}

// ValidateToolCall checks that call names one of tools and that its
// arguments satisfy that tool's parameters (a tool without parameters
// takes an empty object, or none). It returns nil, [ErrNotJSON], a
// [*MismatchError] (Path under "/arguments" when the arguments fail), or
// the tool's [*InvalidSchemaError].
func (c *Cache) ValidateToolCall(tools []providers.Tool, call providers.ToolCall) error {
	for _, t := range tools {
		if t.Name != call.Name {
			continue
		}
		args := call.Arguments
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		if len(t.Parameters) == 0 {
			if _, err := jsonschema.UnmarshalJSON(strings.NewReader(args)); err != nil {
				return ErrNotJSON
			}
			return nil
		}
		s, err := c.Compile(t.Parameters)
		if err != nil {
			return err
		}
		err = s.Validate([]byte(args))
		var me *MismatchError
		if errors.As(err, &me) {
			return &MismatchError{Path: "/arguments" + me.Path, Reason: me.Reason}
		}
		return err
	}
	return &MismatchError{Path: "/name", Reason: fmt.Sprintf("the model called %q, which is not one of the request's tools", call.Name)}
}

// Mismatch wraps a failed check of provider's answer ([ErrNotJSON] or a
// [*MismatchError]) as the providers error of kind
// providers.KindSchemaMismatch, which makes the attempt a failed one. It
// returns other errors unchanged.
func Mismatch(provider string, err error) error {
	var me *MismatchError
	if errors.Is(err, ErrNotJSON) || errors.As(err, &me) {
		return &providers.Error{Kind: providers.KindSchemaMismatch, Provider: provider, Message: err.Error(), Err: err}
	}
	return err
}
