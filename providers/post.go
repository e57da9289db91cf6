package providers

import (
	"bytes"
	"context"
	"net/http"
)

// NewPost returns a POST of a copy of body to url, so the caller may reuse
// its (pooled) buffer as soon as NewPost returns, however long the transport
// holds the request. The copy is handed to net/http as a *bytes.Reader,
// which it knows to be in memory: it then writes the request head and body
// in one segment, where a reader of any other type makes it flush the head
// on its own first (one more write here and one more read at the vendor,
// per request). GetBody is set, so the transport can replay the body.
func NewPost(ctx context.Context, url string, body []byte) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bytes.Clone(body)))
}
