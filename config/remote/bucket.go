package remote

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	// The bucket drivers that Open accepts.
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
)

// bucketSource fetches files from a gocloud.dev/blob bucket, reading each
// object's attributes first so that an unchanged object is not downloaded.
type bucketSource struct {
	bucket *blob.Bucket
	desc   string
	opts   Options
}

func openBucketSource(ctx context.Context, u *url.URL, opts Options) (*bucketSource, error) {
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		// Bucket URLs carry no credentials (drivers take them from the
		// environment), so the driver's error, which quotes the URL, is kept.
		return nil, fmt.Errorf("remote: opening bucket %s: %w", redact(u), err)
	}
	return &bucketSource{bucket: b, desc: redact(u), opts: opts}, nil
}

// NewBucketSource returns a [Source] reading from bucket, for a bucket
// that [Open] cannot configure from a URL (custom credentials or
// endpoints, or a bucket shared with tests). desc describes the bucket in
// logs and status and must hold no secret. The source takes ownership of
// bucket: its Close closes the bucket. Zero fields of opts take their
// defaults; the credential fields are not used.
func NewBucketSource(bucket *blob.Bucket, desc string, opts Options) Source {
	return &bucketSource{bucket: bucket, desc: desc, opts: opts.withDefaults()}
}

// Fetch implements [Source].
func (s *bucketSource) Fetch(ctx context.Context, name string, have Version) (Fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	attrs, err := s.bucket.Attributes(ctx, name)
	if err != nil {
		return Fetched{}, s.fetchError(name, err)
	}
	v := bucketVersion(attrs)
	if have.ETag != "" && have.ETag == v.ETag {
		return Fetched{Version: have, NotModified: true}, nil
	}
	if attrs.Size > s.opts.MaxFileSize {
		return Fetched{}, fmt.Errorf("remote: %s: %s: file of %d bytes exceeds the %d-byte limit",
			s.desc, name, attrs.Size, s.opts.MaxFileSize)
	}
	r, err := s.bucket.NewReader(ctx, name, nil)
	if err != nil {
		return Fetched{}, s.fetchError(name, err)
	}
	defer func() { _ = r.Close() }()
	data, err := io.ReadAll(io.LimitReader(r, s.opts.MaxFileSize+1))
	if err != nil {
		return Fetched{}, s.fetchError(name, err)
	}
	if int64(len(data)) > s.opts.MaxFileSize {
		return Fetched{}, fmt.Errorf("remote: %s: %s: file exceeds the %d-byte limit",
			s.desc, name, s.opts.MaxFileSize)
	}
	// The object may have changed between Attributes and the download;
	// then the next fetch sees a version other than v and fetches again.
	return Fetched{Data: data, Version: v}, nil
}

func (s *bucketSource) fetchError(name string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %s: %s", ErrNotFound, s.desc, name)
	}
	return fmt.Errorf("remote: %s: %s: %w", s.desc, name, err)
}

// bucketVersion identifies an object by its ETag, else its MD5, else its
// modification time and size.
func bucketVersion(a *blob.Attributes) Version {
	v := Version{}
	if !a.ModTime.IsZero() {
		v.LastModified = a.ModTime.UTC().Format(http.TimeFormat)
	}
	switch {
	case a.ETag != "":
		v.ETag = a.ETag
	case len(a.MD5) > 0:
		v.ETag = "md5:" + hex.EncodeToString(a.MD5)
	default:
		v.ETag = "mtime:" + a.ModTime.UTC().Format(time.RFC3339Nano) + "/" + strconv.FormatInt(a.Size, 10)
	}
	return v
}

// List implements [Lister]: the objects directly under the bucket's
// prefix (the URL's path, or the prefix the bucket was opened with).
func (s *bucketSource) List(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	var names []string
	it := s.bucket.List(&blob.ListOptions{Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("remote: listing %s: %w", s.desc, err)
		}
		if !obj.IsDir {
			names = append(names, obj.Key)
		}
	}
}

var _ Lister = (*bucketSource)(nil)

// String implements [Source].
func (s *bucketSource) String() string { return s.desc }

// Close implements [Source].
func (s *bucketSource) Close() error { return s.bucket.Close() }

var _ Source = (*bucketSource)(nil)
