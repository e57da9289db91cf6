// Package remote keeps the gateway's configuration directory in sync with a
// configuration store: an HTTP(S) base URL (a GitHub raw URL, a public or
// pre-authorised S3/GCS prefix) or a gocloud.dev bucket URL (s3://, gs://,
// file://, mem://).
//
// The design has two halves.
//
// A [Source] fetches one named file at a time and is conditional: it is
// handed the [Version] of the copy already applied (ETag, Last-Modified) and
// answers "not modified" when the store still holds that version. The HTTP
// source sends If-None-Match and If-Modified-Since and treats 304 as
// unchanged; the bucket source compares the object's ETag (or MD5, or
// modification time and size) from its attributes before downloading. A
// Source keeps no state of its own: what was applied is the [Syncer]'s to
// remember, so a fetched set that is refused is fetched again next time.
//
// A [Syncer] owns the directory. One sync fetches every configured file;
// if any file cannot be fetched (an optional file the store does not have
// is not a failure), any fetched file is not syntactically valid JSON, or
// the optional [SyncOptions.Validate] hook refuses the set, nothing is
// written and the last good files stay in place. Otherwise every file
// whose bytes differ from what is on disk is written to a hidden temporary
// file in the same directory (mode 0644, fsynced) and, once all of them
// are staged, renamed into place, so that a file watcher never sees a
// partly written file. Files whose bytes did not change are not touched,
// so the watcher does not fire needlessly. An optional file
// (rate_limits.json by default) that the store does not have is removed
// from the directory, and a file edited by hand in the directory is
// replaced by the store's copy at the next sync: the directory mirrors the
// store. Semantic validation is the reloader's (or Validate's) job.
//
// Secrets (the credential named by [Options.AuthEnv], and the query string
// of a URL, which may carry a signature) never appear in logs, errors or
// [Status]: sources describe themselves with a redacted URL, and HTTP
// error bodies are not quoted.
//
// The gateway wires it like this:
//
//	src, err := remote.Open(ctx, *configSource, remote.Options{AuthEnv: *configSourceTokenEnv})
//	...
//	s, err := remote.NewSyncer(src, *configDir, remote.SyncOptions{Interval: *configSyncInterval, Logger: log})
//	defer s.Close()
//	if _, err := s.SyncOnce(ctx); err != nil { ... } // before the first load
//	go s.Run(ctx)                                    // stops when ctx is done
package remote
