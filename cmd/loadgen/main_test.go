package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/providers/sim"
)

func TestMain(m *testing.M) {
	// The end-to-end test runs this test binary as the floor process.
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		if err := runFloor(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	goleak.VerifyTestMain(m)
}

// TestClosedLoop drives the simulator directly: every worker's calls are
// counted in the window, none fail, and the latencies are plausible.
func TestClosedLoop(t *testing.T) {
	_, base, stop, err := sim.Start(sim.Config{Latency: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client := newHTTPClient(4)
	defer client.CloseIdleConnections()
	tgt := &httpTarget{url: base + "/v1/chat/completions", header: map[string][]string{"Content-Type": {"application/json"}},
		body: openAIBody(false), want: answerOf(openAIModel), must: openAIUnary(openAIModel)}
	m := closedLoop(context.Background(), 4, 100*time.Millisecond, 500*time.Millisecond, tgt.newCall(client), nil)
	if m.errors != 0 {
		t.Fatalf("%d errors, first: %s", m.errors, m.firstErr)
	}
	// Four workers, each call at least 2ms: at most 4 × 500 / 2 calls.
	if m.requests < 20 || m.requests > 1000 {
		t.Errorf("requests = %d, want 20..1000", m.requests)
	}
	l := summarise(m.lat)
	if l.P50 < 2 || l.P50 > 200 || l.Max < l.P99 || l.P99 < l.P50 {
		t.Errorf("latency %+v: want p50 >= 2ms (the simulator's latency) and ordered percentiles", l)
	}
	if m.elapsed < 500*time.Millisecond {
		t.Errorf("window %v, want >= 500ms", m.elapsed)
	}
}

// TestHTTPTargetNotPresent: a 404 is reported as an absent endpoint, not
// as a failure of the run.
func TestHTTPTargetNotPresent(t *testing.T) {
	_, base, stop, err := sim.Start(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client := newHTTPClient(1)
	defer client.CloseIdleConnections()
	tgt := &httpTarget{url: base + "/v1/no-such-endpoint", header: map[string][]string{"Content-Type": {"application/json"}},
		body: chatBody(benchRoute), want: answerOf(openAIModel)}
	_, err = tgt.newCall(client)(0)(context.Background())
	if err == nil || !strings.Contains(err.Error(), errNotPresent.Error()) {
		t.Fatalf("err = %v, want %v", err, errNotPresent)
	}
}

// TestMissesDiffer: no two workers, in one cell or two, send the same
// message, and the hit path always sends one.
func TestMissesDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 3 { // three cells
		for w := range 4 {
			id := workers.Add(1)
			for n := range 3 {
				q := string(restBody(nil, appendQuestion(nil, id, n), w))
				if seen[q] {
					t.Fatalf("repeated request %s", q)
				}
				seen[q] = true
			}
		}
	}
	if a, b := string(appendQuestion(nil, 1, -1)), string(appendQuestion(nil, 2, -1)); a != b {
		t.Errorf("hit requests differ: %s, %s", a, b)
	}
}

// TestWrongAnswers: an answer that is not the simulator's (here a
// simulator that answers one word shorter) counts as an error, unary or
// streamed.
func TestWrongAnswers(t *testing.T) {
	_, base, stop, err := sim.Start(sim.Config{AnswerTokens: sim.DefaultAnswerTokens - 1})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client := newHTTPClient(1)
	defer client.CloseIdleConnections()
	plain := map[string][]string{"Content-Type": {"application/json"}}
	for name, tgt := range map[string]*httpTarget{
		"unary": {url: base + "/v1/chat/completions", header: plain, body: openAIBody(false),
			want: answerOf(openAIModel), must: openAIUnary(openAIModel)},
		"stream": {url: base + "/v1/chat/completions", header: plain, body: openAIBody(true),
			want: answerOf(openAIModel), sse: openAITextStream},
		"model": {url: base + "/v1/chat/completions", header: plain, body: openAIBody(false),
			want: answerOf("gpt-4o"), must: openAIUnary("gpt-4o")},
	} {
		if _, err := tgt.newCall(client)(0)(context.Background()); err == nil {
			t.Errorf("%s: a wrong answer passed the check", name)
		}
	}
}

// TestCheckFragments: a stream's fragments are compared once put together
// and unescaped; tool arguments must also be JSON.
func TestCheckFragments(t *testing.T) {
	var frags []byte
	for _, f := range []string{`{\"level\":\"beginn"}`, `er\",\"skill\":\"exa"`, `mple\"}"}`} {
		frags = appendJSONString(frags, []byte(f))
	}
	if err := checkFragments(frags, `{"level":"beginner","skill":"example"}`, true); err != nil {
		t.Errorf("escaped fragments: %v", err)
	}
	if err := checkFragments(frags, `{"level":"beginner","skill":"other"}`, true); err == nil {
		t.Error("different arguments passed")
	}
	if err := checkFragments([]byte(`{\"level\"`), `{"level"`, true); err == nil {
		t.Error("arguments that are not JSON passed")
	}
	if err := checkFragments([]byte("Week may"), "Week may", false); err != nil {
		t.Errorf("text: %v", err)
	}
	if err := checkFragments([]byte("Week"), "Week may", false); err == nil {
		t.Error("short text passed")
	}
	if !json.Valid([]byte(toolArguments)) || !strings.HasPrefix(toolArguments, "{") {
		t.Errorf("tool arguments %q are not a JSON object", toolArguments)
	}
}

// TestReport checks ratios to the floor, the targets, the table's n/a row
// and the JSON round trip with -compare.
func TestReport(t *testing.T) {
	lat := func(p50, p99 float64) Latency { return Latency{P50: p50, P90: p50 * 2, P99: p99, Max: p99 * 2} }
	r := &Report{Cells: []Cell{
		{Path: "direct", Concurrency: 1, Baseline: "floor", Requests: 100, RPS: 10000, Latency: lat(0.1, 0.2)},
		{Path: "floor", Concurrency: 1, Baseline: "floor", Requests: 100, RPS: 4000, Latency: lat(0.2, 0.6)},
		{Path: "grpc-miss", Concurrency: 1, Baseline: "floor", Requests: 100, RPS: 3000, Latency: lat(0.2, 0.8)},
		{Path: "direct", Concurrency: 16, Baseline: "floor", Requests: 100, RPS: 20000, Latency: lat(0.4, 2)},
		{Path: "floor", Concurrency: 16, Baseline: "floor", Requests: 100, RPS: 10000, Latency: lat(1, 4)},
		{Path: "grpc-miss", Concurrency: 16, Baseline: "floor", Requests: 100, RPS: 8600, Latency: lat(1.2, 2.5)},
		{Path: "openai-miss", Concurrency: 16, Baseline: "floor", NA: "endpoint not present"},
		{Path: "anthropic-miss", Concurrency: 16, Baseline: "floor", Requests: 100, RPS: 6900, Latency: lat(1.5, 3)},
		{Path: "grpc-hit", Concurrency: 16, Baseline: "floor", Requests: 100, RPS: 12000, Latency: lat(0.5, 1)},
		{Path: "redis-miss", Concurrency: 16, Baseline: "floor", Requests: 100, RPS: 6000, Latency: lat(2, 8)},
		{Path: "direct-stream", Concurrency: 16, Baseline: "floor-stream", Requests: 100, RPS: 100, Latency: lat(1, 2), TTFT: &Latency{P50: 0.5}},
		{Path: "grpc-stream", Concurrency: 16, Baseline: "floor-stream", Requests: 100, RPS: 100, Latency: lat(1, 2), TTFT: &Latency{P50: 0.8}},
		{Path: "floor-tool-stream", Concurrency: 16, Baseline: "floor-tool-stream", Requests: 100, RPS: 200, Latency: lat(1, 2), TTFT: &Latency{P50: 0.6}},
		{Path: "grpc-tool-stream", Concurrency: 16, Baseline: "floor-tool-stream", Requests: 100, RPS: 150, Latency: lat(1, 2), TTFT: &Latency{P50: 0.9}},
	}, IdleRSS: 50 << 20, IdleRSSAnon: 20 << 20, IdleRSSFile: 30 << 20, Memory: &Memory{Streams: 10000, Opened: 10000, BaselineRSS: 50 << 20, PeakRSS: 50<<20 + 10000*30<<10, PerStream: 30 << 10}}
	r.computeRatios()
	r.checkTargets()
	if got := r.find("grpc-miss", 16).Ratio; got == nil || math.Abs(got.RPS-0.86) > 1e-9 || math.Abs(got.P99-0.625) > 1e-9 {
		t.Errorf("grpc-miss ratio %+v, want rps 0.86, p99 0.625", got)
	}
	if r.find("grpc-stream", 16).Ratio != nil {
		t.Error("grpc-stream has a ratio without a floor-stream row")
	}
	if got := r.find("grpc-tool-stream", 16).Ratio; got == nil || math.Abs(got.RPS-0.75) > 1e-9 {
		t.Errorf("grpc-tool-stream ratio %+v, want rps 0.75 (to floor-tool-stream)", got)
	}
	want := map[string]string{
		"grpc-miss c=16 throughput / floor":              "met",     // 0.86
		"openai-miss c=16 throughput / floor":            "n/a",     // endpoint not present
		"rest-miss c=16 throughput / floor":              "n/a",     // not measured
		"anthropic-miss c=16 throughput / floor":         "NOT MET", // 0.69
		"grpc-hit c=16 throughput / floor":               "NOT MET", // 1.2
		"redis-miss c=16 throughput / floor":             "met",     // 0.6
		"grpc-stream c=16 throughput / floor-stream":     "n/a",     // no floor-stream row
		"grpc-miss c=1 p50 added vs direct (ms)":         "met",     // 0.1
		"openai-miss c=1 p50 added vs direct (ms)":       "n/a",
		"RSS per open stream, 10000 streams (KiB)":       "met",     // 30
		"gateway RSS after start, before any load (MiB)": "NOT MET", // 50
	}
	for _, tg := range r.Targets {
		w, ok := want[tg.Name]
		if !ok {
			t.Errorf("unexpected target %q", tg.Name)
			continue
		}
		got := "n/a"
		if tg.Met != nil {
			got = map[bool]string{true: "met", false: "NOT MET"}[*tg.Met]
		}
		if got != w {
			t.Errorf("%s: %s (value %v), want %s", tg.Name, got, tg.Value, w)
		}
		delete(want, tg.Name)
	}
	if len(want) > 0 {
		t.Errorf("targets missing: %v", want)
	}
	var out bytes.Buffer
	r.printTable(&out)
	for _, s := range []string{"n/a (endpoint not present)", "0.86", "30.0 KiB per stream", "gateway RSS 50.0 MiB after start", "anonymous 20.0 MiB, file-backed 30.0 MiB"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, out.String())
		}
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	old, err := readReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if old.IdleRSS != r.IdleRSS {
		t.Errorf("idle RSS %d after the JSON round trip, want %d", old.IdleRSS, r.IdleRSS)
	}
	out.Reset()
	r.printCompare(&out, old, "r.json")
	if !strings.Contains(out.String(), "grpc-miss") || !strings.Contains(out.String(), "+0.0%") {
		t.Errorf("compare:\n%s", out.String())
	}
}

// TestEndToEnd runs the whole harness briefly: real simulator, floor,
// gateways and redis-server processes, every path, a few hundred streams.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	bin := t.TempDir()
	for _, c := range []string{"gateway", "llmsim"} {
		cmd := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(bin, c), "../"+c)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
	jsonOut, cpuOut := filepath.Join(t.TempDir(), "out.json"), filepath.Join(t.TempDir(), "cpu.prof")
	var stdout bytes.Buffer
	err := run([]string{"-bin", bin, "-config", "../../bench/config", "-duration", "300ms", "-warmup", "100ms",
		"-concurrency", "1,4", "-streams", "200", "-json", jsonOut,
		"-cpuprofile", cpuOut, "-profile-cell", "grpc-miss@4"}, &stdout)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	r, err := readReport(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cells) != len(paths)*2 {
		t.Errorf("%d cells, want %d", len(r.Cells), len(paths)*2)
	}
	for _, c := range r.Cells {
		if c.NA != "" {
			continue // the OpenAI-compatible endpoint may not be there
		}
		if c.Requests == 0 || c.Errors > 0 {
			t.Errorf("%s c=%d: %d requests, %d errors (%s)", c.Path, c.Concurrency, c.Requests, c.Errors, c.FirstError)
		}
		if c.Ratio == nil {
			t.Errorf("%s c=%d: no ratio to the floor", c.Path, c.Concurrency)
		}
		if strings.HasSuffix(c.Path, "stream") && (c.TTFT == nil || c.TTFT.P50 <= 0) {
			t.Errorf("%s c=%d: no time to first token", c.Path, c.Concurrency)
		}
	}
	if r.IdleRSS <= 0 || r.IdleRSSAnon <= 0 || r.IdleRSSAnon > r.IdleRSS {
		t.Errorf("idle RSS %d (anonymous %d), want the gateway's RSS after start", r.IdleRSS, r.IdleRSSAnon)
	}
	if m := r.Memory; m == nil || m.Opened != 200 || m.PeakRSS <= m.BaselineRSS {
		t.Errorf("memory %+v: want 200 streams open and RSS grown", m)
	}
	if fi, err := os.Stat(cpuOut); err != nil || fi.Size() == 0 {
		t.Errorf("CPU profile of the gateway: %v", err)
	}
	if !strings.Contains(stdout.String(), "Targets") {
		t.Errorf("no targets in the output:\n%s", stdout.String())
	}
}
