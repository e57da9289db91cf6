package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
)

// restRoutes are the REST paths of the OpenAPI document and the methods
// each answers, so that a request with another method is told which ones
// it may use.
type restRoutes []restRoute

type restRoute struct {
	segments []string // "{name}" matches any one segment
	methods  []string // upper case, sorted
}

// parseRESTRoutes reads the paths of a Swagger 2.0 document.
func parseRESTRoutes(openAPI []byte) (restRoutes, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		return nil, fmt.Errorf("read the OpenAPI document's paths: %w", err)
	}
	var rs restRoutes
	for p, ops := range doc.Paths {
		r := restRoute{segments: strings.Split(strings.Trim(p, "/"), "/")}
		for m := range ops {
			switch m = strings.ToUpper(m); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				r.methods = append(r.methods, m)
			}
		}
		slices.Sort(r.methods)
		rs = append(rs, r)
	}
	return rs, nil
}

// allowed lists the methods the REST API answers on path, sorted; nil when
// no route has that path.
func (rs restRoutes) allowed(path string) []string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var methods []string
	for _, r := range rs {
		if r.match(segs) {
			methods = append(methods, r.methods...)
		}
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}

func (r restRoute) match(segs []string) bool {
	if len(segs) != len(r.segments) {
		return false
	}
	for i, s := range r.segments {
		isParam := strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
		if (isParam && segs[i] == "") || (!isParam && s != segs[i]) {
			return false
		}
	}
	return true
}

// routingErrorHandler answers a known path called with the wrong method
// with 405 Method Not Allowed and an Allow header (grpc-gateway's default
// is 501 Not Implemented, as for an unknown RPC); other routing errors keep
// grpc-gateway's handling.
func routingErrorHandler(rs restRoutes) runtime.RoutingErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		if httpStatus == http.StatusMethodNotAllowed {
			if allow := rs.allowed(r.URL.Path); len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeJSONError(w, http.StatusMethodNotAllowed, codes.Unimplemented,
					fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
				return
			}
		}
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
	}
}
