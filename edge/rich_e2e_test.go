package edge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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
	// Both routes honour tools, JSON answers and images; the OpenAI route
	// has no field for a thinking budget, the Anthropic route none for a
	// reasoning effort.
	tests := []struct {
		name   string
		mutate func(r *gatewayv1.CompleteRequest)
		fields []string
		routes []string
	}{
		{"reasoning", func(r *gatewayv1.CompleteRequest) {
			r.Reasoning = &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW}
		}, []string{"reasoning.effort"}, []string{"anthropic_only"}},
		{"reasoning budget", func(r *gatewayv1.CompleteRequest) {
			r.Reasoning = &gatewayv1.Reasoning{BudgetTokens: proto.Int32(2048)}
		}, []string{"reasoning.budget_tokens"}, []string{"openai_only"}},
	}
	for _, tt := range tests {
		for _, route := range tt.routes {
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
