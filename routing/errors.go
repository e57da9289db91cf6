package routing

import (
	"errors"
	"fmt"
	"strings"
)

// Errors the router and its decisions return, each wrapped with detail.
// Each maps to one gRPC code, given here.
var (
	// ErrUnknownRoute is returned for a route name that is not configured
	// (InvalidArgument).
	ErrUnknownRoute = errors.New("unknown route")
	// ErrUnknownModel is returned for an override naming a provider or
	// model that is not configured (InvalidArgument).
	ErrUnknownModel = errors.New("unknown provider or model")
	// ErrUnknownVariant is returned for a forced variant the route does not
	// have (InvalidArgument).
	ErrUnknownVariant = errors.New("unknown variant")
	// ErrForceNotAllowed is returned when a caller who may not force a
	// variant names one (PermissionDenied).
	ErrForceNotAllowed = errors.New("forcing a variant is not allowed for this caller")
	// ErrMissingVariable is returned when a prompt template, or a route's
	// enrichment key with on_missing "fail", needs a variable the request
	// did not send (InvalidArgument). The error is a [*MissingVariableError].
	ErrMissingVariable = errors.New("missing variable")
	// ErrNoEnrichment is returned when a route's enrichment has
	// on_missing "fail" and the dataset holds no record for the request's
	// key (FailedPrecondition: the request is well formed, the data the
	// route needs for it is not there). The error is a [*NoEnrichmentError].
	ErrNoEnrichment = errors.New("no enrichment record")
	// ErrPromptTooLarge is returned when a rendered template exceeds
	// [MaxRenderedBytes], e.g. because of very large variables
	// (InvalidArgument).
	ErrPromptTooLarge = errors.New("rendered prompt too large")
	// ErrTemplate is returned when a prompt template fails for a reason
	// that is not the caller's, e.g. a record without a field the template
	// reads (Internal: the operator's template and data disagree).
	ErrTemplate = errors.New("prompt template failed")
)

// MissingVariableError names the variable a request lacked. It matches
// [ErrMissingVariable] with errors.Is.
type MissingVariableError struct {
	// Route and Variant are where the variable was needed (Variant is
	// empty for an enrichment key).
	Route, Variant string
	// Source is what needed it: "system_template", "user_template" or
	// "enrichment key".
	Source string
	// Name is the variable's name.
	Name string
}

func (e *MissingVariableError) Error() string {
	where := "route " + e.Route
	if e.Variant != "" {
		where += " variant " + e.Variant
	}
	return fmt.Sprintf("%s %q (needed by %s %s)", ErrMissingVariable, e.Name, where, e.Source)
}

// Is reports whether target is [ErrMissingVariable].
func (e *MissingVariableError) Is(target error) bool { return target == ErrMissingVariable }

// NoEnrichmentError says which dataset had no record for which key. It
// matches [ErrNoEnrichment] with errors.Is.
type NoEnrichmentError struct {
	// Route and Dataset name the route and its dataset.
	Route, Dataset string
	// Fields and Values are the request fields used as the key and their
	// values.
	Fields, Values []string
}

func (e *NoEnrichmentError) Error() string {
	pairs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		pairs[i] = fmt.Sprintf("%s=%q", f, e.Values[i])
	}
	return fmt.Sprintf("route %s: %s: dataset %s has no record for %s", e.Route, ErrNoEnrichment, e.Dataset, strings.Join(pairs, ", "))
}

// Is reports whether target is [ErrNoEnrichment].
func (e *NoEnrichmentError) Is(target error) bool { return target == ErrNoEnrichment }
