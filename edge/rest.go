package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	llmgateway "github.com/careerpath/llmgateway"
	"github.com/careerpath/llmgateway/auth"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// Content types of the REST shim's streaming endpoint.
const (
	contentTypeSSE    = "text/event-stream"
	contentTypeNDJSON = "application/x-ndjson"
)

// jsonMarshaler is the REST shim's JSON: snake_case field names as in the
// .proto (matching the OpenAPI document), unknown request fields rejected.
func jsonMarshaler() *runtime.JSONPb {
	return &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
}

// newRESTHandler returns the grpc-gateway REST shim. It calls the service
// through client, in process, so REST callers pass through exactly the
// same interceptors as gRPC callers.
func newRESTHandler(ctx context.Context, client gatewayv1.LLMGatewayClient, maxBody int64) (http.Handler, error) {
	jm := jsonMarshaler()
	routes, err := parseRESTRoutes(llmgateway.OpenAPI)
	if err != nil {
		return nil, err
	}
	mux := runtime.NewServeMux(
		runtime.WithRoutingErrorHandler(routingErrorHandler(routes)),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jm),
		runtime.WithMarshalerOption(contentTypeNDJSON, jm),
		runtime.WithMarshalerOption(contentTypeSSE, &sseMarshaler{JSONPb: jm}),
		// x-api-key arrives as itself, like Authorization, so that REST
		// callers authenticate exactly as gRPC callers do.
		runtime.WithIncomingHeaderMatcher(func(k string) (string, bool) {
			if strings.EqualFold(k, auth.HeaderAPIKey) {
				return auth.HeaderAPIKey, true
			}
			return runtime.DefaultHeaderMatcher(k)
		}),
		// Rate-limit headers reach REST callers under their usual names.
		runtime.WithOutgoingHeaderMatcher(func(k string) (string, bool) {
			if k == "retry-after" || strings.HasPrefix(k, "x-ratelimit-") {
				return k, true
			}
			return runtime.MetadataHeaderPrefix + k, true
		}),
	)
	if err := gatewayv1.RegisterLLMGatewayHandlerClient(ctx, mux, client); err != nil {
		return nil, fmt.Errorf("register REST shim: %w", err)
	}
	return serveOpenAPI(limitBody(maxBody, defaultStreamToSSE(mux))), nil
}

// OpenAPIPath is where the REST shim serves its OpenAPI document.
const OpenAPIPath = "/openapi.json"

// serveOpenAPI answers GET and HEAD on [OpenAPIPath] with the embedded
// OpenAPI document and passes every other request to next.
func serveOpenAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != OpenAPIPath {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSONError(w, http.StatusMethodNotAllowed, codes.Unimplemented, "method not allowed")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(llmgateway.OpenAPI))
	})
}

// defaultStreamToSSE makes server-sent events the default format of the
// streaming endpoint, so that curl and browsers get a standard event
// stream; a client that asks for application/x-ndjson gets one JSON object
// per line instead.
func defaultStreamToSSE(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/stream" && r.Header.Get("Accept") != contentTypeNDJSON {
			r.Header.Set("Accept", contentTypeSSE)
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses request bodies larger than n bytes with 400, before
// they are decoded.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n > 0 {
			if r.ContentLength > n {
				writeJSONError(w, http.StatusBadRequest, codes.InvalidArgument,
					fmt.Sprintf("request body is %d bytes, the limit is %d", r.ContentLength, n))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSONError writes an error in the shape grpc-gateway uses for
// google.rpc.Status, so that REST clients see one error format.
func writeJSONError(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	body, _ := json.Marshal(struct {
		Code    codes.Code `json:"code"`
		Message string     `json:"message"`
		Details []any      `json:"details"`
	}{code, msg, []any{}})
	_, _ = w.Write(body)
}

// sseMarshaler writes grpc-gateway's stream chunks as server-sent events:
// each message as "data: {json}", a stream error as "event: error" with
// the google.rpc.Status as data.
type sseMarshaler struct {
	*runtime.JSONPb
}

// ContentType implements runtime.Marshaler.
func (m *sseMarshaler) ContentType(any) string { return contentTypeSSE }

// Delimiter implements runtime.Delimited: a blank line ends each event.
func (m *sseMarshaler) Delimiter() []byte { return []byte("\n\n") }

// Marshal implements runtime.Marshaler.
func (m *sseMarshaler) Marshal(v any) ([]byte, error) {
	event, payload := "", v
	switch c := v.(type) {
	case map[string]any: // a result chunk
		if r, ok := c["result"]; ok {
			payload = r
		}
	case map[string]proto.Message: // an error chunk
		if e, ok := c["error"]; ok {
			event, payload = "error", e
		}
	}
	data, err := m.JSONPb.Marshal(payload)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(data) + 24)
	if event != "" {
		buf.WriteString("event: ")
		buf.WriteString(event)
		buf.WriteByte('\n')
	}
	// protojson output has no raw newlines, so one data line suffices.
	buf.WriteString("data: ")
	buf.Write(data)
	return buf.Bytes(), nil
}

// NewEncoder implements runtime.Marshaler.
func (m *sseMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, m.Delimiter()...))
		return err
	})
}
