package remote

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults for [Options].
const (
	// DefaultTimeout bounds one file fetch when [Options.Timeout] is zero.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxFileSize bounds one file when [Options.MaxFileSize] is zero:
	// the size of the largest enrichment dataset the gateway loads.
	DefaultMaxFileSize = 64 << 20
)

// ErrNotFound is returned (wrapped) by [Source.Fetch] when the store does
// not hold the named file.
var ErrNotFound = errors.New("remote: file not found")

// Source is a configuration store that serves named files. Fetch is
// conditional: have is the version of the copy the caller already has
// (the zero Version for none) and, when the store still holds it, Fetch
// reports it as not modified without downloading it. A Source remembers
// nothing between calls. Fetch may be called from several goroutines.
type Source interface {
	// Fetch returns the file name unless the store still holds version
	// have of it. A file the store does not have is an error wrapping
	// [ErrNotFound].
	Fetch(ctx context.Context, name string, have Version) (Fetched, error)
	// String describes the source for logs and status, with anything
	// that may be secret (credentials, query strings) left out.
	String() string
	// Close releases the source's resources.
	Close() error
}

// Lister is a [Source] that can name the files it holds (a bucket prefix).
// A [Syncer] whose source lists keeps every file under the prefix in sync,
// not only those it was told of.
type Lister interface {
	// List returns the names of the files directly under the source's
	// prefix (not in deeper "directories").
	List(ctx context.Context) ([]string, error)
}

// Version identifies one copy of a file in a store. The zero Version means
// "no copy".
type Version struct {
	// ETag is the store's entity tag for the copy. Bucket sources that get
	// no ETag from their driver use "md5:<hex>" or "mtime:<time>/<size>".
	ETag string `json:"etag,omitempty"`
	// LastModified is the copy's modification time as an HTTP date, as the
	// store reported it.
	LastModified string `json:"last_modified,omitempty"`
}

// IsZero reports whether v identifies no copy.
func (v Version) IsZero() bool { return v == Version{} }

// Fetched is the result of one [Source.Fetch].
type Fetched struct {
	// Data is the file's content; nil when NotModified.
	Data []byte
	// Version identifies the copy fetched, or the caller's when
	// NotModified.
	Version Version
	// NotModified reports that the store still holds the caller's version.
	NotModified bool
}

// Options configure the [Source] that [Open] returns.
type Options struct {
	// AuthEnv names the environment variable whose value is sent in
	// AuthHeader with every request of an HTTP(S) source. The value itself
	// is never logged nor put in an error. Empty means no credential.
	// Bucket sources use their driver's usual credentials instead
	// (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, workload identity).
	AuthEnv string
	// AuthHeader is the header carrying the credential (default
	// "Authorization"). For Authorization, a value without a space (a bare
	// token) is sent as "Bearer <token>"; a value with one ("token ghp_…",
	// "Basic …") is sent as it is. The header is not forwarded when a
	// redirect leads to another host.
	AuthHeader string
	// Timeout bounds one file fetch (default [DefaultTimeout]).
	Timeout time.Duration
	// MaxFileSize bounds one file in bytes (default [DefaultMaxFileSize]);
	// a larger file is an error.
	MaxFileSize int64
}

func (o Options) withDefaults() Options {
	if o.AuthHeader == "" {
		o.AuthHeader = "Authorization"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	return o
}

// Open returns the source for rawURL, chosen by its scheme:
//
//   - http, https: a base URL (a GitHub raw URL, a public or pre-authorised
//     S3 or GCS prefix); each file is fetched from the base URL joined with
//     its name, with the base URL's query string kept.
//   - s3, gs, file, mem: a gocloud.dev/blob bucket URL, opened with
//     blob.OpenBucket; "?prefix=config/" selects a folder of the bucket.
func Open(ctx context.Context, rawURL string, opts Options) (Source, error) {
	if rawURL == "" {
		return nil, errors.New("remote: empty config source URL")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors quote the whole URL, which may hold a secret.
		return nil, errors.New("remote: config source is not a valid URL")
	}
	opts = opts.withDefaults()
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "http", "https":
		return newHTTPSource(u, opts)
	case "s3", "gs", "file", "mem":
		return openBucketSource(ctx, u, opts)
	case "":
		return nil, fmt.Errorf("remote: config source %s has no scheme (want http, https, s3, gs, file or mem)", redact(u))
	default:
		return nil, fmt.Errorf("remote: unsupported config source scheme %q (want http, https, s3, gs, file or mem)", scheme)
	}
}

// redact renders u without user info, query string or fragment, any of
// which may carry a secret (a password, a pre-signed URL's signature).
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	hadQuery := c.RawQuery != "" || c.ForceQuery
	c.RawQuery, c.ForceQuery = "", false
	s := c.String()
	if c.Host == "" && c.Path == "" && c.Opaque == "" && c.Scheme != "" {
		s += "//" // "mem://", not "mem:"
	}
	if hadQuery {
		s += "?REDACTED"
	}
	return s
}
