package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// parquetBatch is how many rows a Parquet dataset is read in at a time.
const parquetBatch = 256

// parquetColumn is how one top-level column of a Parquet file becomes a
// record field.
type parquetColumn struct {
	name string
	// convert turns a non-null value into what templates see: a string,
	// a bool or a json.Number (as a JSON Lines record holds it).
	convert func(parquet.Value) (any, error)
	// unsupported, when set, says why the column is not read; records
	// leave it out, and a key or template that needs it is refused.
	unsupported string
}

// ReadParquetTable reads a Parquet dataset of size bytes from r, indexed by
// key; name is the file name for errors. It reads row group by row group,
// a batch of rows at a time. Only flat files are read: top-level columns
// of booleans, integers, floats, decimals, dates and UTF-8 strings;
// another column (nested, repeated, timestamp, binary, ...) is left out of
// the records, and the file is refused if the key needs it. Every error
// names the file, and the row (1-based) where one is at fault.
func ReadParquetTable(name string, r io.ReaderAt, size int64, key []string) (t *Table, err error) {
	if size > MaxDatasetBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxDatasetBytes)
	}
	// The Parquet library trusts the offsets and lengths a file declares,
	// and panics on some that lie (found by FuzzReadParquetTable): a
	// corrupt file is refused like any bad file, and the process lives on.
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("%s: not a readable Parquet file: corrupt (%v)", name, p)
		}
	}()
	// The page index only helps skip pages; every row is read anyway.
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", name, err)
	}
	if n := f.NumRows(); n > MaxDatasetRecords {
		return nil, fmt.Errorf("%s: %d rows, more than %d records", name, n, MaxDatasetRecords)
	}
	cols := parquetColumns(f.Schema())
	t = &Table{key: key, records: map[string]map[string]any{}, columns: map[string]string{}, unit: "row"}
	for _, c := range cols {
		t.columns[c.name] = c.unsupported
	}
	if err := t.checkColumns(key, "key field"); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := map[string]int{}
	row := 0
	buf := make([]parquet.Row, parquetBatch)
	for _, rg := range f.RowGroups() {
		if err := readRowGroup(rg, cols, buf, func(rec map[string]any) error {
			row++
			return t.add(rec, row, lines)
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", name, rowErr(err, row+1))
		}
	}
	return t, nil
}

// rowErr names the row of a conversion error (t.add's errors already say
// "line N"; for Parquet a line is a row).
func rowErr(err error, row int) error {
	var ce *convertError
	if errors.As(err, &ce) {
		return fmt.Errorf("row %d: %w", row, err)
	}
	return err
}

type convertError struct{ err error }

func (e *convertError) Error() string { return e.err.Error() }
func (e *convertError) Unwrap() error { return e.err }

func readRowGroup(rg parquet.RowGroup, cols []parquetColumn, buf []parquet.Row, add func(map[string]any) error) error {
	rows := rg.Rows()
	defer func() { _ = rows.Close() }()
	for {
		n, err := rows.ReadRows(buf)
		for _, r := range buf[:n] {
			rec := make(map[string]any, len(cols))
			for _, v := range r {
				i := v.Column()
				if i < 0 || i >= len(cols) || cols[i].unsupported != "" || v.IsNull() {
					continue
				}
				x, cerr := cols[i].convert(v)
				if cerr != nil {
					return &convertError{fmt.Errorf("column %q: %w", cols[i].name, cerr)}
				}
				rec[cols[i].name] = x
			}
			if err := add(rec); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
	}
}

// parquetColumns maps the schema's leaf columns, in column order, to
// record fields. A nested group's leaves are unsupported under the
// group's name.
func parquetColumns(s *parquet.Schema) []parquetColumn {
	var cols []parquetColumn
	for _, fld := range s.Fields() {
		if !fld.Leaf() {
			for range leaves(fld) {
				cols = append(cols, parquetColumn{name: fld.Name(), unsupported: "a nested group"})
			}
			continue
		}
		c := parquetColumn{name: fld.Name()}
		if fld.Repeated() {
			c.unsupported = "a repeated column"
		} else {
			c.convert, c.unsupported = converter(fld.Type())
		}
		cols = append(cols, c)
	}
	return cols
}

// leaves counts the leaf columns under n, one element each.
func leaves(n parquet.Node) []struct{} {
	if n.Leaf() {
		return []struct{}{{}}
	}
	var out []struct{}
	for _, f := range n.Fields() {
		out = append(out, leaves(f)...)
	}
	return out
}

// converter picks the conversion of a leaf type, or says why there is none.
func converter(t parquet.Type) (func(parquet.Value) (any, error), string) {
	var logical format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		logical = lt.Value
	}
	switch lt := logical.(type) {
	case nil, *format.IntType, *format.StringType, *format.EnumType, *format.JsonType:
	case *format.DecimalType:
		scale := int(lt.Scale)
		switch t.Kind() {
		case parquet.Int32, parquet.Int64:
			return func(v parquet.Value) (any, error) { return decimal(big.NewInt(v.Int64()), scale), nil }, ""
		case parquet.ByteArray, parquet.FixedLenByteArray:
			return func(v parquet.Value) (any, error) { return decimal(twosComplement(v.ByteArray()), scale), nil }, ""
		}
		return nil, "a decimal of type " + t.String()
	case *format.DateType:
		return func(v parquet.Value) (any, error) {
			return time.Unix(0, 0).UTC().AddDate(0, 0, int(v.Int32())).Format(time.DateOnly), nil
		}, ""
	default:
		return nil, "of type " + t.String() + ", which datasets do not read"
	}
	switch t.Kind() {
	case parquet.Boolean:
		return func(v parquet.Value) (any, error) { return v.Boolean(), nil }, ""
	case parquet.Int32, parquet.Int64:
		return func(v parquet.Value) (any, error) { return json.Number(strconv.FormatInt(v.Int64(), 10)), nil }, ""
	case parquet.Float:
		return func(v parquet.Value) (any, error) { return floatNumber(float64(v.Float()), 32) }, ""
	case parquet.Double:
		return func(v parquet.Value) (any, error) { return floatNumber(v.Double(), 64) }, ""
	case parquet.ByteArray:
		return func(v parquet.Value) (any, error) {
			b := v.ByteArray()
			if !utf8.Valid(b) {
				return nil, errors.New("is not valid UTF-8 text")
			}
			return string(b), nil
		}, ""
	}
	return nil, "of type " + t.String() + ", which datasets do not read"
}

func floatNumber(f float64, bits int) (any, error) {
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if _, err := json.Number(s).Float64(); err != nil {
		return nil, fmt.Errorf("%s is not a finite number", s)
	}
	return json.Number(s), nil
}

// decimal writes unscaled × 10^-scale exactly, e.g. 12345 at scale 2 as
// "123.45".
func decimal(unscaled *big.Int, scale int) json.Number {
	if scale <= 0 {
		return json.Number(new(big.Int).Mul(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil)).String())
	}
	r := new(big.Rat).SetFrac(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	return json.Number(r.FloatString(scale))
}

// twosComplement reads a big-endian two's complement integer.
func twosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n
}

// checkColumns reports the first of fields that is not a readable column
// of the table; what says what the field is for. A table read from JSON
// Lines has no schema and accepts every field.
func (t *Table) checkColumns(fields []string, what string) error {
	if t.columns == nil {
		return nil
	}
	for _, f := range fields {
		why, ok := t.columns[f]
		switch {
		case !ok:
			return fmt.Errorf("%s %q is not a column of the file", what, f)
		case why != "":
			return fmt.Errorf("%s %q is %s", what, f, why)
		}
	}
	return nil
}
