package edge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// A request that needs what its provider does not honour is refused by
// field before anything is sent: with every upstream call failing, the
// answer is still InvalidArgument naming the fields, never Unavailable,
// and never an answer that silently ignored them. A text request still
// answers as before, with schema_check not applicable.
func TestRichRequestsRefusedByField(t *testing.T) {
	g := startGateway(t, sim.Config{})

	plain, err := g.client.Complete(ctxT(t), request("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	if plain.GetSchemaCheck() != gatewayv1.SchemaCheck_SCHEMA_CHECK_NOT_APPLICABLE || len(plain.GetParts()) != 0 {
		t.Fatalf("text answer: schema_check %v, parts %v", plain.GetSchemaCheck(), plain.GetParts())
	}

	if err := g.openai.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	if err := g.anthropic.SetFault(sim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(r *gatewayv1.CompleteRequest)
		fields []string
	}{
		{"tools", func(r *gatewayv1.CompleteRequest) {
			r.Tools = []*gatewayv1.Tool{tool("search_jobs", objSchema)}
			r.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}
		}, []string{"tools", "tool_choice"}},
		{"structured answer", func(r *gatewayv1.CompleteRequest) {
			r.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
				Schema: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: objSchema}}}
		}, []string{"response_format.json_schema"}},
		{"image", func(r *gatewayv1.CompleteRequest) {
			r.Messages[0] = user(text("my resume"),
				image(&gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: pngBytes}, MediaType: "image/png"}))
		}, []string{"messages.parts", "messages.parts.image"}},
		{"reasoning", func(r *gatewayv1.CompleteRequest) {
			r.Reasoning = &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW}
		}, []string{"reasoning.effort"}},
	}
	for _, tt := range tests {
		for _, route := range []string{"openai_only", "anthropic_only"} {
			t.Run(tt.name+"/"+route, func(t *testing.T) {
				r := request(route, "u")
				tt.mutate(r)
				_, err := g.client.Complete(ctxT(t), r)
				checkFields(t, "Complete", err, tt.fields)
				st, err := g.client.Stream(ctxT(t), r)
				if err == nil {
					_, err = st.Recv()
				}
				checkFields(t, "Stream", err, tt.fields)

				body, _ := marshalJSON(r)
				resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(string(body)))
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tt.fields[0]) {
					t.Fatalf("REST: %d %s", resp.StatusCode, b)
				}
			})
		}
	}
}

func checkFields(t *testing.T, call string, err error, fields []string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: code = %v (%v), want InvalidArgument", call, st.Code(), err)
	}
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField())
				if !strings.Contains(v.GetDescription(), "cannot honour") {
					t.Errorf("%s: %s: %q", call, v.GetField(), v.GetDescription())
				}
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(fields, " ") {
		t.Fatalf("%s: fields = %v, want %v", call, got, fields)
	}
}
