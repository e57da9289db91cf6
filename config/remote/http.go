package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// httpSource fetches files from an HTTP(S) base URL with conditional GETs.
type httpSource struct {
	base      *url.URL
	desc      string
	client    *http.Client
	transport *http.Transport
	header    string // credential header name; "" when none
	value     string // credential header value; never logged
	opts      Options
}

func newHTTPSource(base *url.URL, opts Options) (*httpSource, error) {
	if base.Host == "" {
		return nil, fmt.Errorf("remote: config source %s has no host", redact(base))
	}
	s := &httpSource{base: base, desc: redact(base), opts: opts}
	if opts.AuthEnv != "" {
		v := strings.TrimSpace(os.Getenv(opts.AuthEnv))
		if v == "" {
			return nil, fmt.Errorf("remote: environment variable %s (the config source credential) is empty or unset", opts.AuthEnv)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("remote: environment variable %s holds a line break, which is not a valid header value", opts.AuthEnv)
		}
		if strings.EqualFold(opts.AuthHeader, "Authorization") && !strings.Contains(v, " ") {
			v = "Bearer " + v
		}
		s.header, s.value = http.CanonicalHeaderKey(opts.AuthHeader), v
	}
	s.transport = http.DefaultTransport.(*http.Transport).Clone()
	s.client = &http.Client{Transport: s.transport, CheckRedirect: s.checkRedirect}
	return s, nil
}

// checkRedirect follows up to 10 redirects and drops the credential when
// one leads to another host. (net/http drops Authorization itself, but not
// a custom header such as PRIVATE-TOKEN.)
func (s *httpSource) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if s.header != "" && req.URL.Host != via[0].URL.Host {
		req.Header.Del(s.header)
	}
	return nil
}

// Fetch implements [Source].
func (s *httpSource) Fetch(ctx context.Context, name string, have Version) (Fetched, error) {
	u := s.base.JoinPath(name)
	where := redact(u)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), http.NoBody)
	if err != nil {
		return Fetched{}, fmt.Errorf("remote: GET %s: cannot build request", where)
	}
	req.Header.Set("User-Agent", "llmgateway-config-sync")
	if have.ETag != "" {
		req.Header.Set("If-None-Match", have.ETag)
	}
	if have.LastModified != "" {
		req.Header.Set("If-Modified-Since", have.LastModified)
	}
	if s.header != "" {
		req.Header.Set(s.header, s.value)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// A *url.Error quotes the full URL, query string included.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return Fetched{}, fmt.Errorf("remote: GET %s: %w", where, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		if have.IsZero() {
			return Fetched{}, fmt.Errorf("remote: GET %s: 304 Not Modified to an unconditional request", where)
		}
		return Fetched{Version: have, NotModified: true}, nil
	case http.StatusNotFound:
		return Fetched{}, fmt.Errorf("%w: GET %s: 404 Not Found", ErrNotFound, where)
	default:
		// The body is left out: an S3 signature error echoes the request's
		// signing details.
		return Fetched{}, fmt.Errorf("remote: GET %s: unexpected status %s", where, resp.Status)
	}
	limit := s.opts.MaxFileSize
	if resp.ContentLength > limit {
		return Fetched{}, fmt.Errorf("remote: GET %s: file of %d bytes exceeds the %d-byte limit", where, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return Fetched{}, fmt.Errorf("remote: GET %s: reading body: %w", where, err)
	}
	if int64(len(data)) > limit {
		return Fetched{}, fmt.Errorf("remote: GET %s: file exceeds the %d-byte limit", where, limit)
	}
	return Fetched{Data: data, Version: Version{
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}}, nil
}

// String implements [Source].
func (s *httpSource) String() string { return s.desc }

// Close implements [Source].
func (s *httpSource) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

var _ Source = (*httpSource)(nil)
