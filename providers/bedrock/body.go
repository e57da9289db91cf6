package bedrock

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ownBodyClient sends each request with a body of its own, read from the
// SDK's body before the call.
//
// The SDK closes its request body as soon as the client returns the
// response headers, while net/http may still be reading that body: after
// sending Content-Length bytes it reads once more to check for the end.
// That read then fails, and the transport closes the connection under the
// response, which cuts a ConverseStream answer that is still arriving. A
// body the SDK does not hold cannot be closed under the transport.
type ownBodyClient struct{ next aws.HTTPClient }

// Do sends req with a copy of its body.
func (c ownBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.next.Do(req)
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(b))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	out.ContentLength = int64(len(b))
	return c.next.Do(out)
}
