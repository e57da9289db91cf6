package gateway

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/careerpath/llmgateway/resilience"
)

func TestLogBreakersLogsTransitionsOnly(t *testing.T) {
	var buf bytes.Buffer
	obs := LogBreakers(slog.New(slog.NewJSONHandler(&buf, nil)), resilience.NopObserver{})
	obs.BreakerState("openai", circuitbreaker.ClosedState) // built
	obs.BreakerState("openai", circuitbreaker.OpenState)
	obs.BreakerState("openai", circuitbreaker.HalfOpenState)
	obs.BreakerState("openai", circuitbreaker.ClosedState)
	obs.BreakerState("openai", circuitbreaker.ClosedState) // rebuilt by a reload
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`"level":"WARN","msg":"circuit breaker open","provider":"openai","from":"closed"`,
		`"level":"WARN","msg":"circuit breaker half_open","provider":"openai","from":"open"`,
		`"level":"INFO","msg":"circuit breaker closed","provider":"openai","from":"half_open"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %s, want %s", i, lines[i], w)
		}
	}
}
