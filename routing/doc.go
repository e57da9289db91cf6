// Package routing decides, for every request, which provider and model
// answer it and with which prompt: a route name selects one of the route's
// variants through the route's A/B experiment, sticky per subject, and the
// variant's prompt templates turn the request's variables and an
// enrichment record into messages.
//
// # Assignment
//
// Every route is one experiment with an id (default: the route name) and
// a salt (default: empty), set in ab_test_config.json as
// "experiment": {"id": ..., "salt": ...}. A subject's bucket is
//
//	bucket = mix64(FNV-1a-64(id ‖ 0x00 ‖ salt ‖ 0x00 ‖ subject)) mod 10000
//
// where mix64 is the MurmurHash3 64-bit finalizer ([Bucket]). Buckets,
// not subjects, are given to variants, once per configuration, so a
// request costs one hash and one table lookup; a request without a subject
// takes a random bucket.
//
// Buckets are given to variants by weighted rendezvous (highest random
// weight) hashing: every (bucket, variant) pair has a uniform
// U(b, v) in (0, 1) from mix64(FNV-1a-64(id ‖ 0 ‖ salt ‖ 0 ‖ decimal b ‖ 0 ‖
// variant name)), and bucket b goes to the variant v maximising
// w_v / −ln U(b, v). Plain rendezvous gives each variant its share only in
// expectation (±0.5 percentage points over 10,000 buckets), so the scores
// are then calibrated: every variant gets a log-offset β_v, found by
// coordinate search, such that argmax_v log(w_v / −ln U(b, v)) + β_v gives
// each variant exactly its quota of buckets, round(10000 · w_v / Σw) by
// largest remainder. The result is the assignment that maximises the sum
// of the buckets' rendezvous scores subject to exact quotas; it is unique
// and deterministic across replicas.
//
// Why not cumulative ranges: with ranges, a change of one weight shifts
// the boundaries of every later variant and moves their users too. With
// rendezvous scores, a variant's weight only changes its own scores, so a
// weight change moves buckets into or out of that variant; calibration
// adds a small rebalancing among the others (in tests: 50/50 → 60/40 moves
// exactly the minimum 10%; adding a third variant at weight 10 to 50/50
// moves about 9.3% against a minimum of 9.1%). Renaming a variant, or
// changing the experiment id or salt, reshuffles: a new salt is how an
// operator starts an experiment over with fresh assignments. A variant of
// weight 0 gets no buckets but can still be forced.
//
// # Forcing
//
// [Router.Select] with [Selection.ForceVariant] returns that variant
// without assignment, for callers allowed to force
// ([Selection.ForceAllowed]); others get [ErrForceNotAllowed], and an
// unknown name [ErrUnknownVariant]. Forced traffic is not part of the
// experiment's random assignment and should be left out of its reports.
//
// # Prompts
//
// A variant may have a static system_prompt and Go text/template
// templates system_template and user_template (see
// [config.ParsePromptTemplate]), parsed once when the configuration is
// loaded. Templates see [PromptData]: {{.Vars.name}} is the request's
// variable "name" and {{.Record.median_salary}} a field of the
// enrichment record. Variables are data, inserted as text and never
// parsed as templates. Templates run with missingkey=error: a variable a
// template reads but the request lacks is a [*MissingVariableError]
// naming it (use {{with index .Vars "name"}} for an optional one). A
// rendering over [MaxRenderedBytes] fails with [ErrPromptTooLarge].
// [Decision.Messages] assembles the system message, the rendered user
// message and the caller's messages.
//
// # Enrichment
//
// A route may join one record of a dataset (a JSON Lines file declared
// in ab_test_config.json, see [config.Dataset]) into its templates. The
// key values come from the request's variables, else its caller tags, by
// the route's key field names. Without a record, on_missing "skip" gives
// templates an empty .Record (guard fields with {{with .Record}}), and
// "fail" returns [ErrNoEnrichment] (or [ErrMissingVariable] when a key
// value is absent).
package routing
