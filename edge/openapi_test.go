package edge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// restRoute is one HTTP binding of an RPC, as its google.api.http
// annotation declares it: the routes the REST shim serves.
type restRoute struct{ method, path, rpc string }

func restRoutes(t *testing.T) []restRoute {
	t.Helper()
	var out []restRoute
	methods := gatewayv1.File_llmgateway_v1_gateway_proto.Services().ByName("LLMGateway").Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		if !ok || rule == nil {
			t.Fatalf("%s has no google.api.http annotation", m.FullName())
		}
		out = append(out, bindings(m, rule)...)
		for _, extra := range rule.GetAdditionalBindings() {
			out = append(out, bindings(m, extra)...)
		}
	}
	return out
}

func bindings(m protoreflect.MethodDescriptor, r *annotations.HttpRule) []restRoute {
	name := string(m.Name())
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return []restRoute{{"get", p.Get, name}}
	case *annotations.HttpRule_Post:
		return []restRoute{{"post", p.Post, name}}
	case *annotations.HttpRule_Put:
		return []restRoute{{"put", p.Put, name}}
	case *annotations.HttpRule_Delete:
		return []restRoute{{"delete", p.Delete, name}}
	case *annotations.HttpRule_Patch:
		return []restRoute{{"patch", p.Patch, name}}
	}
	return nil
}

// TestOpenAPIServedAndValid fetches /openapi.json from a running gateway,
// validates it as OpenAPI 2.0 and, converted, as OpenAPI 3, and checks
// that it documents exactly the REST routes the shim serves, each of which
// answers on the live server.
func TestOpenAPIServedAndValid(t *testing.T) {
	g := startGateway(t, sim.Config{})
	resp, err := http.Get("http://" + g.httpAddr + edge.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %q", edge.OpenAPIPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	var doc2 openapi2.T
	if err := json.Unmarshal(body, &doc2); err != nil {
		t.Fatalf("not an OpenAPI 2.0 document: %v", err)
	}
	if doc2.Swagger != "2.0" {
		t.Fatalf("swagger = %q", doc2.Swagger)
	}
	// kin-openapi validates OpenAPI 3: convert, resolve every $ref, and
	// validate the whole document (schemas, operations, parameters).
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		t.Fatalf("convert to OpenAPI 3: %v", err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc3, nil); err != nil {
		t.Fatalf("unresolved reference: %v", err)
	}
	if err := doc3.Validate(ctxT(t)); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}

	routes := restRoutes(t)
	documented := map[string]bool{}
	for path, item := range doc2.Paths {
		for method := range item.Operations() {
			documented[strings.ToLower(method)+" "+path] = true
		}
	}
	pathParam := regexp.MustCompile(`\{[^}]+\}`)
	for _, r := range routes {
		key := r.method + " " + r.path
		if !documented[key] {
			t.Errorf("%s (%s) is served but not in %s", key, r.rpc, edge.OpenAPIPath)
		}
		delete(documented, key)

		// The route answers on the live shim: anything but the mux's own
		// "no such route" (404 with an empty body's code 5 message
		// "Not Found") or 405.
		url := "http://" + g.httpAddr + pathParam.ReplaceAllString(r.path, "career_advice")
		req, err := http.NewRequestWithContext(ctxT(t), strings.ToUpper(r.method), url, bytes.NewReader([]byte("{}")))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode == http.StatusMethodNotAllowed || (res.StatusCode == http.StatusNotFound && strings.Contains(string(b), `"Not Found"`)) {
			t.Errorf("%s %s: %d %s: the shim does not serve it", r.method, url, res.StatusCode, b)
		}
	}
	for key := range documented {
		t.Errorf("%s is in %s but not served", key, edge.OpenAPIPath)
	}

	// Only GET and HEAD.
	res, err := http.Post("http://"+g.httpAddr+edge.OpenAPIPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %d, want 405", edge.OpenAPIPath, res.StatusCode)
	}
}
