package config

import (
	"slices"
	"strings"
)

// Limits on a route's variants.
const (
	// MaxVariants caps a route's variants.
	MaxVariants = 100
	// MaxWeight caps one variant's weight.
	MaxWeight = 1_000_000
	// MaxSaltBytes caps an experiment's salt.
	MaxSaltBytes = 64
)

type addFunc = func(file, path, format string, args ...any)

// ExperimentID is the id of the route's experiment: its own, else the
// route's name.
func (r Route) ExperimentID(routeName string) string {
	if r.Experiment != nil && r.Experiment.ID != "" {
		return r.Experiment.ID
	}
	return routeName
}

// validateExperiment checks a route's experiment block.
func (c *Config) validateExperiment(add addFunc, path string, r Route) {
	e := r.Experiment
	if e == nil {
		return
	}
	ep := path + ".experiment"
	if e.ID != "" && !namePattern.MatchString(e.ID) {
		add(ABTestConfigFile, ep+".id", "must match %s", namePattern)
	}
	if len(e.Salt) > MaxSaltBytes {
		add(ABTestConfigFile, ep+".salt", "must be at most %d bytes", MaxSaltBytes)
	}
	if strings.ContainsFunc(e.Salt, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		add(ABTestConfigFile, ep+".salt", "must not contain control characters")
	}
	if e.Control != "" && !slices.ContainsFunc(r.Variants, func(v Variant) bool { return v.Name == e.Control }) {
		add(ABTestConfigFile, ep+".control", "unknown variant %q (not among the route's variants)", e.Control)
	}
}

// validateExperimentIDs checks that no two routes share an experiment id
// (two routes with one id would assign their subjects in lockstep and mix
// their reports).
func (c *Config) validateExperimentIDs(add addFunc) {
	owner := map[string]string{}
	for _, name := range sortedKeys(c.Routes.Routes) {
		r := c.Routes.Routes[name]
		id := r.ExperimentID(name)
		if first, dup := owner[id]; dup {
			p := "$.routes." + name
			if r.Experiment != nil && r.Experiment.ID != "" {
				p += ".experiment.id"
			}
			add(ABTestConfigFile, p, "experiment id %q is already used by route %q", id, first)
			continue
		}
		owner[id] = name
	}
}

// validateEnrichment checks a route's enrichment block against the
// declared datasets.
func (c *Config) validateEnrichment(add addFunc, path string, r Route) {
	e := r.Enrichment
	if e == nil {
		return
	}
	ep := path + ".enrichment"
	switch e.OnMissing {
	case "", OnMissingSkip, OnMissingFail:
	default:
		add(ABTestConfigFile, ep+".on_missing", "must be %q or %q, not %q", OnMissingSkip, OnMissingFail, e.OnMissing)
	}
	if e.Dataset == "" {
		add(ABTestConfigFile, ep+".dataset", "is required")
		return
	}
	d, ok := c.Routes.Datasets[e.Dataset]
	if !ok {
		add(ABTestConfigFile, ep+".dataset", "unknown dataset %q (not in $.datasets)", e.Dataset)
		return
	}
	if e.Key == nil {
		return
	}
	switch {
	case len(e.Key) != len(d.Key):
		add(ABTestConfigFile, ep+".key", "has %d fields but dataset %q is keyed by %d (%s)",
			len(e.Key), e.Dataset, len(d.Key), strings.Join(d.Key, ", "))
	case datasetKeyProblem(e.Key) != "":
		add(ABTestConfigFile, ep+".key", "%s", datasetKeyProblem(e.Key))
	case !slices.Equal(e.Key, d.Key) && sameSet(e.Key, d.Key):
		add(ABTestConfigFile, ep+".key", "lists dataset %q's key fields in another order (%s): the values are matched by position",
			e.Dataset, strings.Join(d.Key, ", "))
	}
}

// validatePrompts checks a variant's prompt templates: they parse, read
// only .Vars and .Record, read .Record only on a route with enrichment,
// and guard record fields when the record may be empty.
func validatePrompts(add addFunc, vp string, r Route, v Variant) {
	for _, f := range []struct{ field, text string }{
		{"system_template", v.SystemTemplate},
		{"user_template", v.UserTemplate},
	} {
		if f.text == "" {
			continue
		}
		p := vp + "." + f.field
		t, err := ParsePromptTemplate(f.field, f.text)
		if err != nil {
			add(ABTestConfigFile, p, "%v", err)
			continue
		}
		if !t.UsesRecord() {
			continue
		}
		if r.Enrichment == nil {
			add(ABTestConfigFile, p, "reads .%s but the route has no enrichment", TemplateRecord)
			continue
		}
		if fields := t.UnguardedRecordFields(); len(fields) > 0 && r.Enrichment.OnMissing != OnMissingFail {
			add(ABTestConfigFile, p, "reads .%s.%s outside {{with .%s}} or {{if .%s}}, but with on_missing %q the record may be empty",
				TemplateRecord, fields[0], TemplateRecord, TemplateRecord, OnMissingSkip)
		}
	}
}

// validateRecordFields checks that the record fields a variant's templates
// read are columns of the route's dataset, when the dataset's file has a
// schema (Parquet).
func (c *Config) validateRecordFields(add addFunc, vp string, r Route, v Variant) {
	if r.Enrichment == nil {
		return
	}
	d, ok := c.Routes.Datasets[r.Enrichment.Dataset]
	if !ok || d.Table == nil {
		return // reported with the enrichment or the dataset
	}
	for _, f := range []struct{ field, text string }{
		{"system_template", v.SystemTemplate},
		{"user_template", v.UserTemplate},
	} {
		t, err := ParsePromptTemplate(f.field, f.text)
		if f.text == "" || err != nil {
			continue // reported by validatePrompts
		}
		if err := d.Table.CheckFields(t.RecordFields()); err != nil {
			add(ABTestConfigFile, vp+"."+f.field, "reads .%s from dataset %q (%s): %v", TemplateRecord, r.Enrichment.Dataset, d.Path, err)
		}
	}
}

// validateDatasets checks the declared datasets.
func (c *Config) validateDatasets(add addFunc) {
	for _, name := range sortedKeys(c.Routes.Datasets) {
		d := c.Routes.Datasets[name]
		p := "$.datasets." + name
		if !namePattern.MatchString(name) {
			add(ABTestConfigFile, p, "dataset name must match %s", namePattern)
		}
		pathProblem, keyProblem := datasetPathProblem(d.Path), datasetKeyProblem(d.Key)
		if pathProblem != "" {
			add(ABTestConfigFile, p+".path", "%s", pathProblem)
		}
		if keyProblem != "" {
			add(ABTestConfigFile, p+".key", "%s", keyProblem)
		}
		switch {
		case pathProblem != "" || keyProblem != "":
		case d.Table == nil:
			add(ABTestConfigFile, p, "dataset %s was not loaded", d.Path)
		case !slices.Equal(d.Table.Key(), d.Key):
			add(ABTestConfigFile, p+".key", "the loaded table is keyed by %v", d.Table.Key())
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
