package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/config/schema"
	"github.com/careerpath/llmgateway/providers"
	// The backends register the provider kinds the gateway validates
	// against, as cmd/gateway does.
	_ "github.com/careerpath/llmgateway/providers/anthropic"
	_ "github.com/careerpath/llmgateway/providers/bedrock"
	_ "github.com/careerpath/llmgateway/providers/gemini"
	_ "github.com/careerpath/llmgateway/providers/openai"
	_ "github.com/careerpath/llmgateway/providers/sim"
)

// files lists the configuration files with a schema, the Go type each
// decodes into, and the top-level key that identifies a complete file in
// the documentation.
var files = []struct {
	name   string
	goType reflect.Type
	topKey string
}{
	{config.ProviderSettingsFile, reflect.TypeFor[config.ProviderSettings](), "providers"},
	{config.ABTestConfigFile, reflect.TypeFor[config.ABTestConfig](), "routes"},
	{config.RateLimitsFile, reflect.TypeFor[config.RateLimits](), "limits"},
	{config.ClientsFile, reflect.TypeFor[config.Clients](), "clients"},
}

// compiled is every schema, compiled once, by configuration file name.
var compiled = func() map[string]*jsonschema.Schema {
	c := newCompiler()
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		s, err := c.Compile(schemaURL(f.name))
		if err != nil {
			return nil // TestSchemasCompile reports it
		}
		out[f.name] = s
	}
	return out
}()

func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // as editors do
	for _, f := range files {
		doc, err := readSchema(f.name)
		if err != nil {
			continue // TestSchemasCompile reports it
		}
		if err := c.AddResource(schemaURL(f.name), doc); err != nil {
			continue
		}
	}
	return c
}

func schemaURL(configFile string) string { return schema.IDBase + schema.Files()[configFile] }

func readSchema(configFile string) (any, error) {
	b, ok := schema.For(configFile)
	if !ok {
		return nil, fmt.Errorf("no schema for %s", configFile)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func schemaFor(t *testing.T, configFile string) *jsonschema.Schema {
	t.Helper()
	s := compiled[configFile]
	if s == nil {
		t.Fatalf("the schema of %s does not compile (see TestSchemasCompile)", configFile)
	}
	return s
}

// validate validates JSON text against the schema of configFile.
func validate(t *testing.T, configFile string, data []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return schemaFor(t, configFile).Validate(doc)
}

// failures lists the instance locations ("/clients/0/key_sha256") of the
// innermost errors of a validation error.
func failures(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, "/"+strings.Join(e.InstanceLocation, "/"))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(out)
	return slices.Compact(out)
}

// 1. Every schema compiles, against the draft 2020-12 meta-schema, and is
// what the package says it is.
func TestSchemasCompile(t *testing.T) {
	c := newCompiler()
	want := map[string]string{}
	for _, f := range files {
		want[f.name] = strings.TrimSuffix(f.name, ".json") + ".schema.json"
		t.Run(f.name, func(t *testing.T) {
			doc, err := readSchema(f.name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile(schemaURL(f.name)); err != nil {
				t.Fatalf("%v", err)
			}
			top := doc.(map[string]any)
			if got := top["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v", got)
			}
			if got := top["$id"]; got != schemaURL(f.name) {
				t.Errorf("$id = %v, want %s", got, schemaURL(f.name))
			}
			if s, _ := top["title"].(string); !strings.Contains(s, f.name) {
				t.Errorf("title %q does not name %s", s, f.name)
			}
			if s, _ := top["description"].(string); !strings.Contains(s, "checked only by the gateway") {
				t.Errorf("description does not say which rules only the gateway checks: %q", s)
			}
		})
	}
	if got := schema.Files(); !reflect.DeepEqual(got, want) {
		t.Errorf("schema.Files() = %v, want %v", got, want)
	}
	var embedded []string
	if err := fs.WalkDir(schema.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range want {
		names = append(names, s)
	}
	slices.Sort(names)
	if !slices.Equal(embedded, names) {
		t.Errorf("embedded files %v, want %v", embedded, names)
	}
	if _, ok := schema.For("job_market.jsonl"); ok {
		t.Error(`For("job_market.jsonl") found a schema`)
	}
}

// The provider kinds the schema allows are the kinds the backends register.
func TestProviderKinds(t *testing.T) {
	doc, err := readSchema(config.ProviderSettingsFile)
	if err != nil {
		t.Fatal(err)
	}
	kind := lookup(doc, "$defs", "provider", "properties", "kind", "enum")
	var got []string
	for _, k := range kind.([]any) {
		got = append(got, k.(string))
	}
	slices.Sort(got)
	if want := providers.Kinds(); !slices.Equal(got, want) {
		t.Errorf("kind enum %v, registered kinds %v", got, want)
	}
}

// The duration pattern accepts what config.Duration accepts, in every
// schema that has one.
func TestDurationPattern(t *testing.T) {
	c := newCompiler()
	found := 0
	for _, f := range files {
		doc, err := readSchema(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if lookup(doc, "$defs", "duration") == nil {
			continue
		}
		found++
		s, err := c.Compile(schemaURL(f.name) + "#/$defs/duration")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{
			"30s", "1m30s", "250ms", "1h2m3.5s", "0", "+0", "0s", "1.5h", ".5s", "1.s", "10ns", "10us",
			"10µs", "10μs", "2h45m", "+5s", "0.000001s",
			"", "30", "30 s", "s", ".s", "-5s", "1d", "5S", "1h 30m", "5sec", "1e3s", "0x10s", " 5s", "5s ",
		} {
			var v config.Duration
			want := json.Unmarshal([]byte(`"`+d+`"`), &v) == nil
			if got := s.Validate(d) == nil; got != want {
				t.Errorf("%s: %q: schema accepts = %v, config.Duration accepts = %v", f.name, d, got, want)
			}
		}
	}
	if found < 2 {
		t.Errorf("only %d schemas have $defs/duration", found)
	}
}

// Definitions shared by several schemas are the same in all of them.
func TestSharedDefs(t *testing.T) {
	defs := map[string]any{}
	owner := map[string]string{}
	for _, f := range files {
		doc, err := readSchema(f.name)
		if err != nil {
			t.Fatal(err)
		}
		for name, def := range lookup(doc, "$defs").(map[string]any) {
			if first, ok := defs[name]; ok && !reflect.DeepEqual(first, def) {
				t.Errorf("$defs/%s differs between %s and %s", name, owner[name], f.name)
			}
			defs[name], owner[name] = def, f.name
		}
	}
	if p := lookup(defs["name"], "pattern"); p != "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$" {
		t.Errorf("$defs/name pattern %v", p)
	}
}

// 2. Every configuration file in the repository validates.
func TestRepoConfigsValidate(t *testing.T) {
	var paths []string
	for _, glob := range []string{"../defaults/*.json", "../../bench/config/*.json"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) < 5 {
		t.Fatalf("found only %v", paths)
	}
	for _, p := range paths {
		t.Run(filepath.ToSlash(p), func(t *testing.T) {
			name := filepath.Base(p)
			if _, ok := schema.Files()[name]; !ok {
				t.Fatalf("no schema for %s", name)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, name, data); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// knownInvalidDocs lists the documentation's complete examples (by page,
// configuration file and number among that page's examples of that file)
// that do not validate, with the instance locations that fail. Fix the
// example, then delete its entry: the test fails when an example listed
// here validates.
var knownInvalidDocs = map[string][]string{}

// docPages returns README.md and the pages under docs/, relative to the
// repository's root.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages in docs/")
	}
	out := []string{"README.md"}
	for _, p := range pages {
		out = append(out, filepath.ToSlash(strings.TrimPrefix(p, "../../")))
	}
	return out
}

// 2. Every complete configuration file shown in README.md or a page of
// docs/ validates.
func TestDocsExamples(t *testing.T) {
	count := map[string]int{}
	seen := map[string]bool{}
	for _, page := range docPages(t) {
		md, err := os.ReadFile(filepath.Join("../..", page))
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range jsonFences(string(md)) {
			// A block may open with a comment naming its file
			// ("// config/llmgateway.json"); the JSON follows it.
			text := ex.text
			for strings.HasPrefix(strings.TrimSpace(text), "//") {
				_, text, _ = strings.Cut(strings.TrimSpace(text), "\n")
			}
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
			if err != nil {
				if strings.Contains(text, "…") {
					t.Logf("%s:%d: skipped, not JSON (placeholders): %v", page, ex.line, err)
					continue
				}
				t.Errorf("%s:%d: a ```json block that is not JSON: %v", page, ex.line, err)
				continue
			}
			obj, _ := doc.(map[string]any)
			var file string
			for _, f := range files {
				if _, ok := obj[f.topKey]; ok {
					if file != "" {
						t.Errorf("%s:%d: looks like both %s and %s", page, ex.line, file, f.name)
					}
					file = f.name
				}
			}
			if file == "" {
				t.Logf("%s:%d: skipped, not a complete configuration file", page, ex.line)
				continue
			}
			count[file]++
			count[page+" "+file]++
			id := fmt.Sprintf("%s: %s #%d", page, file, count[page+" "+file])
			seen[id] = true
			err = schemaFor(t, file).Validate(doc)
			want, known := knownInvalidDocs[id]
			switch {
			case known && err == nil:
				t.Errorf("%s:%d (%s) now validates: delete it from knownInvalidDocs", page, ex.line, id)
			case known && !slices.Equal(failures(err), want):
				t.Errorf("%s:%d (%s) fails at %v, knownInvalidDocs says %v:\n%v", page, ex.line, id, failures(err), want, err)
			case known:
				t.Logf("%s:%d (%s): known invalid, fix the example: %v", page, ex.line, id, err)
			case err != nil:
				t.Errorf("%s:%d (%s): %v", page, ex.line, id, err)
			}
		}
	}
	for id := range knownInvalidDocs {
		if !seen[id] {
			t.Errorf("knownInvalidDocs lists %s, which the documentation no longer has", id)
		}
	}
	for _, f := range files {
		if count[f.name] == 0 {
			t.Errorf("the documentation shows no complete %s", f.name)
		}
	}
}

type fence struct {
	line int // of the opening ```json
	text string
}

// jsonFences returns the contents of the ```json blocks of a Markdown text.
func jsonFences(md string) []fence {
	var out []fence
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```json" {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		out = append(out, fence{line: start + 1, text: strings.Join(body, "\n")})
	}
	return out
}

// 3. The schemas and the Go types have the same fields: every json field
// is a property at the matching place and the schemas have no property the
// types lack. Every property has a description, every object refuses
// unknown fields (but options, which the backends decode), only fields
// without omitempty are required, and every $defs entry is used.
func TestSchemasMatchGoTypes(t *testing.T) {
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			doc, err := readSchema(f.name)
			if err != nil {
				t.Fatal(err)
			}
			root := doc.(map[string]any)
			d := &drift{t: t, root: root, refs: map[string]bool{}}
			d.check(f.goType, root, "$")
			for name := range root["$defs"].(map[string]any) {
				if !d.refs["#/$defs/"+name] {
					t.Errorf("$defs/%s is never used", name)
				}
			}
		})
	}
}

type drift struct {
	t    *testing.T
	root map[string]any
	refs map[string]bool // $refs followed
}

var (
	durationType   = reflect.TypeFor[config.Duration]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
)

// field is one JSON field of a Go struct.
type field struct {
	typ       reflect.Type
	omitempty bool
}

// jsonFields returns a struct's JSON fields by name, embedded structs'
// fields included, as encoding/json sees them.
func jsonFields(t reflect.Type) map[string]field {
	out := map[string]field{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(sf.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = field{typ: sf.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return out
}

// parts returns node and every schema it is made of through $ref and allOf.
func (d *drift) parts(node map[string]any) []map[string]any {
	out := []map[string]any{node}
	if ref, ok := node["$ref"].(string); ok {
		d.refs[ref] = true
		target, ok := lookup(d.root, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
		if !strings.HasPrefix(ref, "#/") || !ok {
			d.t.Fatalf("unresolvable $ref %q", ref)
		}
		out = append(out, d.parts(target)...)
	}
	if all, ok := node["allOf"].([]any); ok {
		for _, s := range all {
			out = append(out, d.parts(s.(map[string]any))...)
		}
	}
	return out
}

// keyword returns the one value of keyword kw among node's parts.
func (d *drift) keyword(node map[string]any, kw, path string) (any, bool) {
	var vals []any
	for _, p := range d.parts(node) {
		if v, ok := p[kw]; ok {
			vals = append(vals, v)
		}
	}
	if len(vals) > 1 {
		d.t.Errorf("%s: %q given %d times through $ref/allOf", path, kw, len(vals))
	}
	if len(vals) == 0 {
		return nil, false
	}
	return vals[0], true
}

func (d *drift) wantType(node map[string]any, want, path string) {
	got, _ := d.keyword(node, "type", path)
	if got != want {
		d.t.Errorf("%s: type %v, want %q", path, got, want)
	}
}

func (d *drift) check(t reflect.Type, node map[string]any, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case rawMessageType:
		d.wantType(node, "object", path)
		if ap, ok := d.keyword(node, "additionalProperties", path); ok && ap == false {
			d.t.Errorf("%s: the backends decode options: any object must be allowed", path)
		}
		return
	case durationType:
		d.wantType(node, "string", path)
		want := lookup(d.root, "$defs", "duration", "pattern")
		if got, _ := d.keyword(node, "pattern", path); want == nil || got != want {
			d.t.Errorf("%s: a duration must use $defs/duration", path)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.checkStruct(t, node, path)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			d.t.Fatalf("%s: map key %v", path, t.Key())
		}
		d.wantType(node, "object", path)
		if _, ok := d.keyword(node, "properties", path); ok {
			d.t.Errorf("%s: a map (%v) with fixed properties", path, t)
		}
		ap, _ := d.keyword(node, "additionalProperties", path)
		vs, ok := ap.(map[string]any)
		if !ok {
			d.t.Errorf("%s: a map (%v) needs additionalProperties with the values' schema", path, t)
			return
		}
		d.check(t.Elem(), vs, path+".*")
	case reflect.Slice:
		d.wantType(node, "array", path)
		items, _ := d.keyword(node, "items", path)
		is, ok := items.(map[string]any)
		if !ok {
			d.t.Errorf("%s: a slice (%v) needs items", path, t)
			return
		}
		d.check(t.Elem(), is, path+"[]")
		if c, ok := d.keyword(node, "contains", path); ok && t.Elem().Kind() == reflect.Struct {
			d.checkMention(t.Elem(), jsonFields(t.Elem()), c.(map[string]any), path+".contains")
		}
	case reflect.String:
		d.wantType(node, "string", path)
	case reflect.Bool:
		d.wantType(node, "boolean", path)
	case reflect.Int, reflect.Int32, reflect.Int64:
		d.wantType(node, "integer", path)
	case reflect.Float64:
		d.wantType(node, "number", path)
	default:
		d.t.Errorf("%s: no rule for Go type %v", path, t)
	}
}

func (d *drift) checkStruct(t reflect.Type, node map[string]any, path string) {
	d.wantType(node, "object", path)
	if ap, _ := d.keyword(node, "additionalProperties", path); ap != false {
		d.t.Errorf("%s: additionalProperties must be false (%v is decoded strictly)", path, t)
	}
	fields := jsonFields(t)
	p, _ := d.keyword(node, "properties", path)
	props, _ := p.(map[string]any)
	for _, name := range sortedKeys(fields) {
		if _, ok := props[name]; !ok {
			d.t.Errorf("%s: %v has field %q, the schema has no such property", path, t, name)
		}
	}
	for _, name := range sortedKeys(props) {
		f, ok := fields[name]
		if !ok {
			d.t.Errorf("%s: the schema has property %q, %v has no such field", path, name, t)
			continue
		}
		prop := props[name].(map[string]any)
		if s, _ := prop["description"].(string); strings.TrimSpace(s) == "" {
			d.t.Errorf("%s.%s: no description", path, name)
		}
		d.check(f.typ, prop, path+"."+name)
	}
	if r, ok := d.keyword(node, "required", path); ok {
		for _, name := range r.([]any) {
			f, ok := fields[name.(string)]
			switch {
			case !ok:
				d.t.Errorf("%s: requires %q, %v has no such field", path, name, t)
			case f.omitempty:
				d.t.Errorf("%s: requires %q, which %v marks omitempty", path, name, t)
			}
		}
	}
	for _, part := range d.parts(node) {
		d.checkMentions(t, part, path)
	}
}

// checkMentions checks that the conditional subschemas of a struct's
// schema (anyOf, oneOf, not, if, then, else; allOf members are parts of
// the schema, see [drift.parts]) name only its fields.
func (d *drift) checkMentions(t reflect.Type, node map[string]any, path string) {
	fields := jsonFields(t)
	for _, kw := range []string{"anyOf", "oneOf"} {
		if subs, ok := node[kw].([]any); ok {
			for i, s := range subs {
				d.checkMention(t, fields, s.(map[string]any), fmt.Sprintf("%s.%s[%d]", path, kw, i))
			}
		}
	}
	for _, kw := range []string{"not", "if", "then", "else"} {
		if s, ok := node[kw].(map[string]any); ok {
			d.checkMention(t, fields, s, path+"."+kw)
		}
	}
}

func (d *drift) checkMention(t reflect.Type, fields map[string]field, s map[string]any, path string) {
	if r, ok := s["required"].([]any); ok {
		for _, name := range r {
			if _, ok := fields[name.(string)]; !ok {
				d.t.Errorf("%s: requires %q, %v has no such field", path, name, t)
			}
		}
	}
	if p, ok := s["properties"].(map[string]any); ok {
		for name, sub := range p {
			f, ok := fields[name]
			if !ok {
				d.t.Errorf("%s: names property %q, %v has no such field", path, name, t)
				continue
			}
			ft := f.typ
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != durationType {
				d.checkMention(ft, jsonFields(ft), sub.(map[string]any), path+"."+name)
			}
		}
	}
	if _, ok := s["$ref"]; !ok {
		d.checkMentions(t, s, path)
		if all, ok := s["allOf"].([]any); ok {
			for i, a := range all {
				d.checkMention(t, fields, a.(map[string]any), fmt.Sprintf("%s.allOf[%d]", path, i))
			}
		}
	}
}

func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// 4. Invalid documents are refused. Each case changes one file of a valid
// configuration directory (the embedded defaults plus a clients.json) and
// says whether the schema accepts the result and whether the gateway
// (config.LoadFS) does: the schema must refuse what the gateway refuses on
// one file's evidence, and the cases where they differ are the documented
// exceptions (rules across files; fields the schema requires where the
// gateway defaults them; openai-compatible without base_url, which the
// backend refuses when it is built).
func TestDocuments(t *testing.T) {
	base := baseConfig(t)
	if _, err := config.LoadFS(base); err != nil {
		t.Fatalf("base configuration: %v", err)
	}
	for name, f := range base {
		if _, ok := schema.Files()[name]; ok {
			if err := validate(t, name, f.Data); err != nil {
				t.Fatalf("base %s: %v", name, err)
			}
		}
	}
	const (
		ps = config.ProviderSettingsFile
		ab = config.ABTestConfigFile
		rl = config.RateLimitsFile
		cl = config.ClientsFile
	)
	openai := sel("providers", "openai")
	career := sel("routes", "career_advice")
	variant := sel("routes", "career_advice", "variants", 0)
	limit := sel("limits", 0)
	client := sel("clients", 0)
	root := sel()
	set := func(obj func(any) map[string]any, key string, v any) func(any) {
		return func(d any) { obj(d)[key] = v }
	}
	del := func(obj func(any) map[string]any, key string) func(any) {
		return func(d any) { delete(obj(d), key) }
	}
	newProvider := func(p map[string]any) func(any) {
		return func(d any) { at(d, "providers")["extra"] = p }
	}
	long := strings.Repeat("a", 64)
	for _, c := range []struct {
		file, name   string
		mutate       func(any)
		schema, load bool // accepted?
	}{
		// provider_settings.json
		{ps, "unknown top-level field", set(root, "provider", map[string]any{}), false, false},
		{ps, "unknown provider field", set(openai, "api_key", "sk-123"), false, false},
		{ps, "bad kind", set(openai, "kind", "gpt"), false, false},
		{ps, "no kind", del(openai, "kind"), false, false},
		{ps, "no providers", set(root, "providers", map[string]any{}), false, false},
		{ps, "another provider", newProvider(map[string]any{"kind": "sim"}), true, true},
		{ps, "provider name with a space", func(d any) { at(d, "providers")["bad name"] = map[string]any{"kind": "sim"} }, false, false},
		{ps, "provider name of 65 characters", func(d any) { at(d, "providers")["a"+long] = map[string]any{"kind": "sim"} }, false, false},
		{ps, "provider name of 64 characters", func(d any) { at(d, "providers")[long] = map[string]any{"kind": "sim"} }, true, true},
		{ps, "duration without unit", set(openai, "timeout", "30"), false, false},
		{ps, "duration with a space", set(openai, "timeout", "30 s"), false, false},
		{ps, "duration as a number", set(openai, "timeout", 30), false, false},
		{ps, "negative duration", set(openai, "timeout", "-5s"), false, false},
		{ps, "duration in days", set(openai, "max_queue_wait", "1d"), false, false},
		{ps, "duration null", set(openai, "timeout", nil), false, false},
		{ps, "compound duration", set(openai, "timeout", "1m30.5s"), true, true},
		{ps, "duration in µs", set(openai, "max_queue_wait", "250µs"), true, true},
		{ps, "zero duration", set(openai, "max_queue_wait", "0"), true, true},
		{ps, "max_attempts 11", set(at0(openai, "retry"), "max_attempts", 11), false, false},
		{ps, "max_attempts 10", set(at0(openai, "retry"), "max_attempts", 10), true, true},
		{ps, "jitter 1", set(at0(openai, "retry"), "jitter", 1), false, false},
		{ps, "jitter negative", set(at0(openai, "retry"), "jitter", -0.1), false, false},
		{ps, "jitter 0.99", set(at0(openai, "retry"), "jitter", 0.99), true, true},
		{ps, "unknown retry field", set(at0(openai, "retry"), "backoff", "1s"), false, false},
		{ps, "failure_rate 1.5", set(at0(openai, "circuit_breaker"), "failure_rate", 1.5), false, false},
		{ps, "min_requests negative", set(at0(openai, "circuit_breaker"), "min_requests", -1), false, false},
		{ps, "max_concurrency negative", set(openai, "max_concurrency", -1), false, false},
		{ps, "hedge with delay", set(openai, "hedge", map[string]any{"delay": "150ms"}), true, true},
		{ps, "hedge with quantile", set(openai, "hedge", map[string]any{"quantile": 0.95}), true, true},
		{ps, "hedge with both", set(openai, "hedge", map[string]any{"delay": "150ms", "quantile": 0.95}), false, false},
		{ps, "hedge with neither", set(openai, "hedge", map[string]any{}), false, false},
		{ps, "hedge quantile 1", set(openai, "hedge", map[string]any{"quantile": 1}), false, false},
		{ps, "unknown stream field", set(at0(openai, "stream"), "idle", "5s"), false, false},
		{ps, "api_key_env holding a key", set(openai, "api_key_env", "sk-abc123"), false, false},
		{ps, "api_key_env and api_key_file", newProvider(map[string]any{"kind": "openai", "api_key_env": "K", "api_key_file": "/run/k"}), false, false},
		// The gateway reads an empty string as "not set"; the schema wants it left out.
		{ps, "empty api_key_env", set(openai, "api_key_env", ""), false, true},
		{ps, "api_key_file", newProvider(map[string]any{"kind": "openai", "api_key_file": "/run/secrets/key"}), true, true},
		{ps, "headers and options", newProvider(map[string]any{"kind": "openai", "headers": map[string]any{"X-Team": "careers"},
			"options": map[string]any{"auth_header": "api-key", "query": map[string]any{"api-version": "2024-10-21"}}}), true, true},
		{ps, "header value not a string", newProvider(map[string]any{"kind": "openai", "headers": map[string]any{"X-Retries": 3}}), false, false},
		{ps, "ftp base_url", newProvider(map[string]any{"kind": "openai", "base_url": "ftp://example.com/v1"}), false, false},
		{ps, "relative base_url", newProvider(map[string]any{"kind": "openai", "base_url": "example.com/v1"}), false, false},
		{ps, "openai-compatible with base_url", newProvider(map[string]any{"kind": "openai-compatible", "base_url": "http://127.0.0.1:8000/v1"}), true, true},
		// Only the backend, when built, refuses this one.
		{ps, "openai-compatible without base_url", newProvider(map[string]any{"kind": "openai-compatible"}), false, true},
		{ps, "negative price", set(sel("models", 0, "price"), "input_per_mtok", -1), false, false},
		{ps, "unknown price field", set(sel("models", 0, "price"), "per_mtok", 1), false, false},
		{ps, "negative context_window", set(sel("models", 0), "context_window", -1), false, false},
		{ps, "model without a name", del(sel("models", 0), "name"), false, false},
		// The schema requires what the Go type always writes.
		{ps, "model without context_window", del(sel("models", 0), "context_window"), false, true},
		{ps, "model of an unknown provider", set(sel("models", 0), "provider", "nobody"), true, false},
		{ps, "no models", set(root, "models", []any{}), false, false},

		// ab_test_config.json
		{ab, "unknown variant field", set(variant, "wieght", 5), false, false},
		{ab, "negative weight", set(variant, "weight", -1), false, false},
		{ab, "weight too large", set(variant, "weight", 1_000_001), false, false},
		{ab, "weight not an integer", set(variant, "weight", "50"), false, false},
		{ab, "all weights 0", func(d any) {
			for _, v := range career(d)["variants"].([]any) {
				v.(map[string]any)["weight"] = 0
			}
		}, false, false},
		{ab, "one weight 0", set(sel("routes", "career_advice", "variants", 1), "weight", 0), true, true},
		{ab, "no variants", set(career, "variants", []any{}), false, false},
		{ab, "variant name with a space", set(variant, "name", "gpt 4o"), false, false},
		{ab, "temperature 2.5", set(at0(variant, "params"), "temperature", 2.5), false, false},
		{ab, "temperature 2", set(at0(variant, "params"), "temperature", 2), true, true},
		{ab, "top_p 0", set(at0(variant, "params"), "top_p", 0), false, false},
		{ab, "top_p 1", set(at0(variant, "params"), "top_p", 1), true, true},
		{ab, "negative max_tokens", set(at0(variant, "params"), "max_tokens", -1), false, false},
		{ab, "bad on_missing", set(at0(career, "enrichment"), "on_missing", "maybe"), false, false},
		{ab, "on_missing fail", set(at0(career, "enrichment"), "on_missing", "fail"), true, true},
		{ab, "enrichment without dataset", del(at0(career, "enrichment"), "dataset"), false, false},
		{ab, "empty enrichment key", set(at0(career, "enrichment"), "key", []any{}), false, false},
		{ab, "route name with a space", func(d any) {
			at(d, "routes")["career advice"] = at(d, "routes", "skills_gap")
			delete(at(d, "routes"), "skills_gap")
		}, false, false},
		{ab, "no routes", set(root, "routes", map[string]any{}), false, false},
		{ab, "backup listed twice", set(career, "backups", []any{
			map[string]any{"provider": "openai", "model": "gpt-4o"},
			map[string]any{"provider": "openai", "model": "gpt-4o"},
		}), false, false},
		{ab, "backup without model", set(career, "backups", []any{map[string]any{"provider": "openai"}}), false, false},
		{ab, "salt of 65 bytes", set(at0(career, "experiment"), "salt", "a"+long), false, false},
		{ab, "salt with a newline", set(at0(career, "experiment"), "salt", "a\nb"), false, false},
		{ab, "salt of 64 bytes", set(at0(career, "experiment"), "salt", long), true, true},
		{ab, "experiment id with a slash", set(at0(career, "experiment"), "id", "career/advice"), false, false},
		{ab, "unknown experiment field", set(at0(career, "experiment"), "seed", 1), false, false},
		{ab, "dataset path in a directory", set(sel("datasets", "job_market"), "path", "data/job_market.jsonl"), false, false},
		{ab, "hidden dataset file", set(sel("datasets", "job_market"), "path", ".job_market.jsonl"), false, false},
		{ab, "parquet dataset whose file is missing", set(sel("datasets", "job_market"), "path", "job_market.parquet"), true, false},
		{ab, "csv dataset", set(sel("datasets", "job_market"), "path", "job_market.csv"), false, false},
		{ab, "dataset key listed twice", set(sel("datasets", "job_market"), "key", []any{"region", "region"}), false, false},
		{ab, "template too large", set(variant, "user_template", strings.Repeat("x", config.MaxTemplateBytes+1)), false, false},
		// Rules across files and between values: only the gateway.
		{ab, "variant of an unknown model", set(variant, "model", "gpt-5"), true, false},
		{ab, "two variants with one name", set(sel("routes", "career_advice", "variants", 1), "name", "gpt_mini"), true, false},
		{ab, "control not a variant", set(at0(career, "experiment"), "control", "nobody"), true, false},
		{ab, "template that does not parse", set(variant, "user_template", "{{.Vars.x"), true, false},

		// rate_limits.json
		{rl, "unknown limit field", set(limit, "requests_per_hour", 5), false, false},
		{rl, "bad scope", set(limit, "scope", []any{"tenant"}), false, false},
		{rl, "scope listed twice", set(limit, "scope", []any{"user", "user"}), false, false},
		{rl, "negative limit", set(limit, "requests_per_minute", -1), false, false},
		{rl, "fractional requests", set(limit, "requests_per_minute", 1.5), false, false},
		{rl, "limit that sets nothing", set(root, "limits", []any{map[string]any{"name": "nothing", "scope": []any{"user"}}}), false, false},
		{rl, "limit of zeros", set(root, "limits", []any{map[string]any{"name": "zeros", "usd_per_day": 0, "tokens_per_minute": 0}}), false, false},
		{rl, "limit without a name", del(limit, "name"), false, false},
		{rl, "limit for clients", set(root, "limits", []any{map[string]any{"name": "ops", "clients": []any{"ops"}, "concurrent_streams": 2}}), true, true},
		{rl, "no limits", set(root, "limits", []any{}), true, true},
		{rl, "limit of an unknown route", set(limit, "routes", []any{"nowhere"}), true, false},
		{rl, "two limits with one name", set(sel("limits", 1), "name", "per_user"), true, false},

		// clients.json
		{cl, "unknown client field", set(client, "key", "llmgw_x"), false, false},
		{cl, "unknown auth field", set(root, "auth", map[string]any{"enabled": true}), false, false},
		{cl, "uppercase hash", set(client, "key_sha256", strings.ToUpper(config.HashKey("k"))), false, false},
		{cl, "plaintext key", set(client, "key_sha256", "llmgw_0123456789abcdefghijABCDEFGHIJ0123456789abc"), false, false},
		{cl, "hash of an empty key", set(client, "key_sha256", config.HashKey("")), false, false},
		{cl, "client without key", del(client, "key_sha256"), false, false},
		{cl, "client named anonymous", set(client, "name", "anonymous"), false, false},
		{cl, "client without routes", del(client, "routes"), false, false},
		{cl, "client with no routes", set(client, "routes", []any{}), false, false},
		{cl, "route listed twice", set(client, "routes", []any{"career_advice", "career_advice"}), false, false},
		{cl, "bad route name", set(client, "routes", []any{"career advice"}), false, false},
		{cl, "bad quota_group", set(client, "quota_group", "web app"), false, false},
		{cl, "no clients", set(root, "clients", []any{}), false, false},
		{cl, "no clients, auth disabled", func(d any) {
			root(d)["auth"] = map[string]any{"disabled": true}
			delete(root(d), "clients")
		}, true, true},
		{cl, "no clients, auth enabled", func(d any) {
			root(d)["auth"] = map[string]any{"disabled": false}
			root(d)["clients"] = []any{}
		}, false, false},
		{cl, "model override without routes", func(d any) {
			delete(client(d), "routes")
			client(d)["allow_model_override"] = true
		}, true, true},
		{cl, "two clients with one name", set(sel("clients", 1), "name", "rails-app"), true, false},
		{cl, "two clients with one key", set(sel("clients", 1), "key_sha256", config.HashKey("rails")), true, false},
		{cl, "client of an unknown route", set(client, "routes", []any{"nowhere"}), true, false},
	} {
		t.Run(c.file+"/"+c.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal(base[c.file].Data, &doc); err != nil {
				t.Fatal(err)
			}
			c.mutate(doc)
			data, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			serr := validate(t, c.file, data)
			if got := serr == nil; got != c.schema {
				t.Errorf("schema accepts = %v, want %v (%v)", got, c.schema, serr)
			}
			fsys := fstest.MapFS{}
			for k, v := range base {
				fsys[k] = v
			}
			fsys[c.file] = &fstest.MapFile{Data: data}
			_, lerr := config.LoadFS(fsys)
			if got := lerr == nil; got != c.load {
				t.Errorf("config.LoadFS accepts = %v, want %v (%v)", got, c.load, lerr)
			}
		})
	}
}

// baseConfig is a valid configuration directory: the embedded defaults
// and a clients.json.
func baseConfig(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(config.DefaultFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(config.DefaultFS(), p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := json.Marshal(map[string]any{
		"auth": map[string]any{"disabled": false},
		"clients": []any{
			map[string]any{"name": "rails-app", "key_sha256": config.HashKey("rails"),
				"routes": []any{"career_advice", "resume_review"}, "quota_group": "web"},
			map[string]any{"name": "ops", "key_sha256": config.HashKey("ops"), "routes": []any{"*"},
				"allow_model_override": true, "allow_forced_variant": true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys[config.ClientsFile] = &fstest.MapFile{Data: clients}
	for _, f := range files {
		if fsys[f.name] == nil {
			t.Fatalf("the base configuration has no %s", f.name)
		}
	}
	return fsys
}

// at returns the object found in doc by following path: strings for
// objects, ints for arrays.
func at(doc any, path ...any) map[string]any {
	v := doc
	for _, k := range path {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}

// sel is a selector of the object at path, for the cases' set and del.
func sel(path ...any) func(any) map[string]any {
	return func(d any) map[string]any { return at(d, path...) }
}

// at0 selects the object under key of the object sel selects, creating it
// when absent.
func at0(sel func(any) map[string]any, key string) func(any) map[string]any {
	return func(d any) map[string]any {
		obj := sel(d)
		if _, ok := obj[key].(map[string]any); !ok {
			obj[key] = map[string]any{}
		}
		return obj[key].(map[string]any)
	}
}
