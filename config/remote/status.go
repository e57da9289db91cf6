package remote

import (
	"slices"
	"time"
)

// Status is a snapshot of a [Syncer]'s state, for the admin API. It holds
// no secret.
type Status struct {
	// Source describes the store, with credentials and query strings left
	// out.
	Source string `json:"source"`
	// Dir is the directory kept in sync.
	Dir string `json:"dir"`
	// Syncs counts the syncs attempted.
	Syncs int64 `json:"syncs"`
	// LastAttempt is when the last sync started; zero before the first.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastSuccess is when a sync last succeeded, whether or not anything
	// changed.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastChange is when a sync last changed the directory.
	LastChange time.Time `json:"last_change,omitzero"`
	// LastError is the last sync's error; empty when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// LastErrorTime is when a sync last failed.
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	// ConsecutiveFailures counts the failed syncs since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Files is the state of each file, in the configured order, as of the
	// last successful sync.
	Files []FileStatus `json:"files"`
}

// FileStatus is the state of one file of a [Status].
type FileStatus struct {
	// Name is the file's name.
	Name string `json:"name"`
	// Optional reports whether the file may be missing from the store.
	Optional bool `json:"optional,omitempty"`
	// Present reports whether the store held the file at the last
	// successful sync.
	Present bool `json:"present"`
	// Version is the store's version of the file applied.
	Version Version `json:"version,omitzero"`
	// SHA256 is the hex SHA-256 of the content applied.
	SHA256 string `json:"sha256,omitempty"`
	// Size is the content's size in bytes.
	Size int `json:"size"`
	// Updated is when the sync last wrote or removed the file; zero if it
	// never had to.
	Updated time.Time `json:"updated,omitzero"`
}

// Status returns a snapshot of the Syncer's state.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Files = slices.Clone(st.Files)
	return st
}
