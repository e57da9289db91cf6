package routing

import (
	"fmt"

	"github.com/careerpath/llmgateway/config"
)

// emptyRecord is what templates see when no record applies. Read-only.
var emptyRecord = map[string]any{}

// enrichment looks up a route's dataset record for a request.
type enrichment struct {
	route, dataset string
	table          *config.Table
	// fields are the request variables or tags holding the key values, in
	// the order of the table's key.
	fields []string
	fail   bool
}

func newEnrichment(cfg *config.Config, route string, e *config.Enrichment) (*enrichment, error) {
	if e == nil {
		return nil, nil
	}
	ds, ok := cfg.Routes.Datasets[e.Dataset]
	if !ok || ds.Table == nil {
		return nil, fmt.Errorf("enrichment: dataset %q is not loaded", e.Dataset)
	}
	fields := e.Key
	if fields == nil {
		fields = ds.Table.Key()
	}
	if len(fields) != len(ds.Table.Key()) {
		return nil, fmt.Errorf("enrichment: %d key fields for dataset %q keyed by %d", len(fields), e.Dataset, len(ds.Table.Key()))
	}
	return &enrichment{
		route: route, dataset: e.Dataset, table: ds.Table,
		fields: fields, fail: e.OnMissing == config.OnMissingFail,
	}, nil
}

// lookup finds the record for a request: each key value comes from the
// request's variables, else its caller tags. With on_missing "skip" a
// request without a key value or a matching record gets [emptyRecord].
func (e *enrichment) lookup(vars, tags map[string]string) (map[string]any, error) {
	values := make([]string, len(e.fields))
	for i, f := range e.fields {
		v, ok := vars[f]
		if !ok {
			v, ok = tags[f]
		}
		if !ok {
			if e.fail {
				return nil, &MissingVariableError{Route: e.route, Source: "enrichment key", Name: f}
			}
			return emptyRecord, nil
		}
		values[i] = v
	}
	rec, ok := e.table.Lookup(values...)
	if !ok {
		if e.fail {
			return nil, &NoEnrichmentError{Route: e.route, Dataset: e.dataset, Fields: e.fields, Values: values}
		}
		return emptyRecord, nil
	}
	return rec, nil
}
