package providers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// HTTPSettings is what a backend speaking its vendor's HTTP API takes from
// its [Settings] before adding its protocol and credential headers.
type HTTPSettings struct {
	// Base is the API root, without trailing slashes.
	Base string
	// Client sends the requests: Settings.HTTPClient, else
	// [DefaultHTTPClient].
	Client *http.Client
	// Header holds Settings.Headers; the backend sets its own headers over
	// them.
	Header http.Header
}

// HTTP checks s for an HTTP backend of kind whose API root is defaultBase
// when s names none: an absolute http(s) base URL, a timeout that is not
// negative, valid extra headers and an API key that can be sent as a
// header value. Its errors name the provider, never the key.
func (s Settings) HTTP(kind, defaultBase string) (HTTPSettings, error) {
	base := s.BaseURL
	if base == "" {
		base = defaultBase
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return HTTPSettings{}, fmt.Errorf("%s provider %q: base_url %q is not an absolute http(s) URL", kind, s.Name, base)
	}
	if s.Timeout < 0 {
		return HTTPSettings{}, fmt.Errorf("%s provider %q: timeout %v is negative", kind, s.Name, s.Timeout)
	}
	client := s.HTTPClient
	if client == nil {
		client = DefaultHTTPClient()
	}
	h := make(http.Header, len(s.Headers)+3)
	for k, v := range s.Headers {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return HTTPSettings{}, fmt.Errorf("%s provider %q: headers: invalid header %q", kind, s.Name, k)
		}
		h.Set(k, v)
	}
	if s.APIKey != "" && !httpguts.ValidHeaderFieldValue(s.APIKey) {
		// Never echo the key itself.
		return HTTPSettings{}, fmt.Errorf("%s provider %q: api key contains invalid characters", kind, s.Name)
	}
	return HTTPSettings{Base: strings.TrimRight(base, "/"), Client: client, Header: h}, nil
}
