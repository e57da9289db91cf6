package edge_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/careerpath/llmgateway/providers/sim"
)

// BenchmarkRESTComplete is one unary REST call through the shim (HTTP in,
// the in-process call through the interceptors) to the simulator.
func BenchmarkRESTComplete(b *testing.B) {
	otel.SetTracerProvider(noop.NewTracerProvider()) // as the gateway runs without a trace exporter
	g := startGateway(b, sim.Config{}).httpAddr
	body := []byte(`{"route": "openai_only", "messages": [{"role": "ROLE_USER", "content": "How do I become a data engineer?"}], "params": {"temperature": 1}}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post("http://"+g+"/v1/complete", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
