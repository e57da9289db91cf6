package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Limits on one enrichment dataset file.
const (
	// MaxDatasetBytes caps a dataset file's size.
	MaxDatasetBytes = 64 << 20
	// MaxDatasetRecords caps a dataset's record count.
	MaxDatasetRecords = 1_000_000
	// MaxDatasetLineBytes caps one record's line.
	MaxDatasetLineBytes = 1 << 20
)

// KeySeparator joins a record's key values into its index key, e.g.
// "15-1252|US-CA". Key values must not contain it.
const KeySeparator = "|"

// Dataset declares an enrichment dataset: a JSON Lines file (one JSON
// object per line) or a Parquet file (one record per row; see
// [ReadParquetTable]) in the configuration directory, indexed by the values
// of its key fields.
//
// The file is loaded whenever ab_test_config.json is, so it is validated
// and hot-reloaded with the configuration. Lines are decoded strictly: each
// non-blank line is exactly one JSON object whose key fields are strings or
// numbers without [KeySeparator]; numbers keep their text (json.Number);
// two records with the same key are an error. Files are capped at
// [MaxDatasetBytes], [MaxDatasetRecords] records and [MaxDatasetLineBytes]
// per line, and every error names the file and the line.
type Dataset struct {
	// Path is the file name inside the configuration directory; it must
	// end in ".jsonl" or ".parquet" and sit beside ab_test_config.json, so
	// that it counts toward the configuration version and its hot reload.
	Path string `json:"path"`
	// Key lists the record fields that identify a record, e.g.
	// ["occupation_code", "region"].
	Key []string `json:"key"`
	// Table is the loaded, indexed file; nil until loaded.
	Table *Table `json:"-"`
}

// Table is a loaded dataset: read-only records indexed by their key
// values. It is safe for concurrent use.
type Table struct {
	key     []string
	records map[string]map[string]any
	// unit is what a record is called in errors: "line" (JSON Lines) or
	// "row" (Parquet).
	unit string
	// columns are a Parquet file's top-level columns, each with why it is
	// not read ("" when it is); nil for JSON Lines, which have no schema.
	columns map[string]string
}

// CheckFields reports the first of fields that records of the table can
// never hold: not a column of a Parquet file, or one it does not read.
// JSON Lines have no schema, so every field passes.
func (t *Table) CheckFields(fields []string) error { return t.checkColumns(fields, "field") }

// NewTable indexes records by the values of their key fields, checking
// them as a dataset file's lines are checked (the first record is "line 1").
func NewTable(key []string, records []map[string]any) (*Table, error) {
	t := &Table{key: key, records: make(map[string]map[string]any, len(records))}
	lines := map[string]int{}
	for i, rec := range records {
		if err := t.add(rec, i+1, lines); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Key returns the table's key field names. The slice must not be changed.
func (t *Table) Key() []string { return t.key }

// Len is the number of records.
func (t *Table) Len() int { return len(t.records) }

// Lookup returns the record whose key fields hold values, in the order of
// [Table.Key]. The record is shared and must not be changed.
func (t *Table) Lookup(values ...string) (map[string]any, bool) {
	if len(values) != len(t.key) {
		return nil, false
	}
	for _, v := range values {
		if strings.Contains(v, KeySeparator) {
			return nil, false
		}
	}
	rec, ok := t.records[strings.Join(values, KeySeparator)]
	return rec, ok
}

// unitName is what a record is called in errors.
func (t *Table) unitName() string {
	if t.unit == "" {
		return "line"
	}
	return t.unit
}

// add indexes one record found at line; lines remembers each key's line.
func (t *Table) add(rec map[string]any, line int, lines map[string]int) error {
	vals := make([]string, len(t.key))
	for i, f := range t.key {
		switch v := rec[f].(type) {
		case string:
			vals[i] = v
		case json.Number:
			vals[i] = v.String()
		case nil:
			return fmt.Errorf("%s %d: key field %q is missing or null", t.unitName(), line, f)
		default:
			return fmt.Errorf("%s %d: key field %q must be a string or a number, not %T", t.unitName(), line, f, v)
		}
		if strings.Contains(vals[i], KeySeparator) {
			return fmt.Errorf("%s %d: key field %q must not contain %q", t.unitName(), line, f, KeySeparator)
		}
	}
	k := strings.Join(vals, KeySeparator)
	if first, dup := lines[k]; dup {
		return fmt.Errorf("%s %d: key %q is already used by %[1]s %[4]d", t.unitName(), line, k, first)
	}
	if len(t.records) >= MaxDatasetRecords {
		return fmt.Errorf("%s %d: more than %d records", t.unitName(), line, MaxDatasetRecords)
	}
	lines[k] = line
	t.records[k] = rec
	return nil
}

// ReadTable reads a JSON Lines dataset from r, indexed by key; name is the
// file name for errors.
func ReadTable(name string, r io.Reader, key []string) (*Table, error) {
	t := &Table{key: key, records: map[string]map[string]any{}}
	lines := map[string]int{}
	lr := &io.LimitedReader{R: r, N: MaxDatasetBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 64<<10), MaxDatasetLineBytes)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := decodeRecord(b)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", name, line, err)
		}
		if err := t.add(rec, line, lines); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxDatasetBytes)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: line %d: longer than %d bytes", name, line+1, MaxDatasetLineBytes)
		}
		return nil, fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	return t, nil
}

// decodeRecord decodes one line: exactly one JSON object.
func decodeRecord(b []byte) (map[string]any, error) {
	if b[0] != '{' {
		return nil, errors.New("must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var rec map[string]any
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return rec, nil
}

// companionLoader is a decoded file that reads further files from the same
// directory.
type companionLoader interface {
	loadCompanions(fsys fs.FS) *Error
}

var _ companionLoader = (*ABTestConfig)(nil)

// loadCompanions loads every dataset whose declaration is usable; a bad
// declaration is left to [Config.Validate] to report. It stops at the first
// file that does not load.
func (c *ABTestConfig) loadCompanions(fsys fs.FS) *Error {
	for _, name := range sortedKeys(c.Datasets) {
		d := c.Datasets[name]
		if datasetPathProblem(d.Path) != "" || datasetKeyProblem(d.Key) != "" {
			continue
		}
		t, err := loadDataset(fsys, d)
		if err != nil {
			return &Error{File: ABTestConfigFile, Path: "$.datasets." + name + ".path", Reason: err.Error()}
		}
		d.Table = t
		c.Datasets[name] = d
	}
	return nil
}

func loadDataset(fsys fs.FS, d Dataset) (*Table, error) {
	f, err := fsys.Open(d.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: file not found", d.Path)
		}
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err == nil && st.Size() > MaxDatasetBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", d.Path, MaxDatasetBytes)
	}
	if path.Ext(d.Path) != ".parquet" {
		return ReadTable(d.Path, f, d.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	// Parquet is read from its footer back: it needs random access. A file
	// without it (not an *os.File) is read whole, within the size cap.
	ra, ok := f.(io.ReaderAt)
	if !ok {
		b, err := io.ReadAll(io.LimitReader(f, MaxDatasetBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Path, err)
		}
		return ReadParquetTable(d.Path, bytes.NewReader(b), int64(len(b)), d.Key)
	}
	return ReadParquetTable(d.Path, ra, st.Size(), d.Key)
}

// datasetPathProblem says what is wrong with a dataset path, or "".
func datasetPathProblem(p string) string {
	switch {
	case p == "":
		return "is required"
	case !fs.ValidPath(p) || strings.ContainsAny(p, `/\`) || p[0] == '.':
		return "must be a plain file name in the configuration directory (no directories, no leading dot)"
	case path.Ext(p) != ".jsonl" && path.Ext(p) != ".parquet":
		return `must end in ".jsonl" (JSON Lines) or ".parquet" (Parquet)`
	}
	return ""
}

// datasetKeyProblem says what is wrong with a dataset key, or "".
func datasetKeyProblem(key []string) string {
	if len(key) == 0 {
		return "at least one key field is required"
	}
	seen := map[string]bool{}
	for _, f := range key {
		if f == "" {
			return "key field names must not be empty"
		}
		if seen[f] {
			return fmt.Sprintf("key field %q is listed twice", f)
		}
		seen[f] = true
	}
	return ""
}
