package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

// Report is one run of the harness, as written to the JSON file.
type Report struct {
	Time     string   `json:"time"`
	Machine  Machine  `json:"machine"`
	Settings Settings `json:"settings"`
	Cells    []Cell   `json:"cells"`
	Memory   *Memory  `json:"memory,omitempty"`
	Targets  []Target `json:"targets"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	LoadAvg   string `json:"load_avg_at_start"`
}

// Settings are the run's parameters.
type Settings struct {
	WarmupSeconds   float64  `json:"warmup_seconds"`
	DurationSeconds float64  `json:"duration_seconds"`
	Rounds          int      `json:"rounds"`
	Concurrency     []int    `json:"concurrency"`
	Paths           []string `json:"paths"`
	Streams         int      `json:"memory_streams"`
}

// Cell is one path at one concurrency.
type Cell struct {
	Path        string  `json:"path"`
	Concurrency int     `json:"concurrency"`
	NA          string  `json:"not_available,omitempty"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	RPS         float64 `json:"requests_per_second"`
	Latency     Latency `json:"latency"`
	// TTFT is the time to first token, for streams.
	TTFT *Latency `json:"ttft,omitempty"`
	// Baseline names the floor row of the same concurrency that Ratio
	// divides by.
	Baseline string  `json:"baseline,omitempty"`
	Ratio    *Ratios `json:"ratio_to_floor,omitempty"`
}

// Ratios are a cell's figures divided by its floor's.
type Ratios struct {
	RPS float64 `json:"requests_per_second"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Target is one of the performance targets, checked on this run.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit string  `json:"limit"`
	Met   *bool   `json:"met"` // null when it could not be measured
	Note  string  `json:"note,omitempty"`
}

// find returns the cell of path at concurrency c.
func (r *Report) find(path string, c int) *Cell {
	for i := range r.Cells {
		if r.Cells[i].Path == path && r.Cells[i].Concurrency == c {
			return &r.Cells[i]
		}
	}
	return nil
}

// measured reports whether the cell exists and has numbers.
func measured(c *Cell) bool { return c != nil && c.NA == "" && c.Requests > 0 }

// computeRatios fills every cell's ratios to its floor.
func (r *Report) computeRatios() {
	for i := range r.Cells {
		c := &r.Cells[i]
		f := r.find(c.Baseline, c.Concurrency)
		if c.Baseline == "" || !measured(c) || !measured(f) {
			continue
		}
		div := func(a, b float64) float64 {
			if b == 0 {
				return math.NaN()
			}
			return a / b
		}
		c.Ratio = &Ratios{
			RPS: div(c.RPS, f.RPS), P50: div(c.Latency.P50, f.Latency.P50), P90: div(c.Latency.P90, f.Latency.P90),
			P99: div(c.Latency.P99, f.Latency.P99), Max: div(c.Latency.Max, f.Latency.Max),
		}
	}
}

// targetConcurrency is the concurrency the targets are judged at.
const targetConcurrency = 16

// checkTargets judges the run against the performance targets.
func (r *Report) checkTargets() {
	c := targetConcurrency
	add := func(name, limit string, value float64, ok bool, measurable bool, note string) {
		t := Target{Name: name, Limit: limit, Value: value, Note: note}
		if measurable && !math.IsNaN(value) {
			t.Met = &ok
		}
		r.Targets = append(r.Targets, t)
	}
	for _, p := range []string{"grpc-miss", "openai-miss"} {
		cell, direct := r.find(p, c), r.find("direct", c)
		note := ""
		if cell != nil && cell.NA != "" {
			note = cell.NA
		}
		ratio := math.NaN()
		if measured(cell) && cell.Ratio != nil {
			ratio = cell.Ratio.RPS
		}
		add(fmt.Sprintf("%s c=%d throughput / floor", p, c), ">= 0.7", ratio, ratio >= 0.7, measured(cell), note)
		added := math.NaN()
		if measured(cell) && measured(direct) {
			added = cell.Latency.P99 - direct.Latency.P99
		}
		add(fmt.Sprintf("%s c=%d p99 added vs direct (ms)", p, c), "<= 1", added, added <= 1, measured(cell) && measured(direct), note)
	}
	if cell := r.find("grpc-hit", c); measured(cell) && cell.Ratio != nil {
		add(fmt.Sprintf("grpc-hit c=%d throughput / floor", c), ">= 1.5", cell.Ratio.RPS, cell.Ratio.RPS >= 1.5, true, "")
	} else {
		add(fmt.Sprintf("grpc-hit c=%d throughput / floor", c), ">= 1.5", math.NaN(), false, false, "not measured")
	}
	for _, cc := range []int{1, c} {
		g, d := r.find("grpc-stream", cc), r.find("direct-stream", cc)
		if measured(g) && measured(d) && g.TTFT != nil && d.TTFT != nil {
			v := g.TTFT.P50 - d.TTFT.P50
			add(fmt.Sprintf("grpc-stream c=%d TTFT p50 added vs direct (ms)", cc), "<= 0.5", v, v <= 0.5, true, "")
		}
	}
	if m := r.Memory; m != nil && m.Opened > 0 {
		kib := m.PerStream / 1024
		add(fmt.Sprintf("RSS per open stream, %d streams (KiB)", m.Opened), "<= 64", kib, kib <= 64 && m.Opened >= 10000, true,
			map[bool]string{true: "", false: "fewer than 10,000 streams"}[m.Opened >= 10000])
	}
	if cell := r.find("redis-miss", c); measured(cell) && cell.Ratio != nil {
		add(fmt.Sprintf("redis-miss c=%d throughput / floor", c), ">= 0.5", cell.Ratio.RPS, cell.Ratio.RPS >= 0.5, true, "")
	}
}

// printTable writes the results table: each figure with its ratio to the
// floor of the same concurrency.
func (r *Report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "path\tconc\treq/s\t×fl\tp50 ms\t×fl\tp90 ms\t×fl\tp99 ms\t×fl\tmax ms\t×fl\terrors\t")
	for _, c := range r.Cells {
		if c.NA != "" {
			_, _ = fmt.Fprintf(tw, "%s\t%d\tn/a (%s)\t\t\t\t\t\t\t\t\t\t\t\n", c.Path, c.Concurrency, c.NA)
			continue
		}
		ratio := func(f func(*Ratios) float64) string {
			if c.Ratio == nil {
				return "-"
			}
			return fmt.Sprintf("%.2f", f(c.Ratio))
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%.3f\t%s\t%.3f\t%s\t%.3f\t%s\t%.3f\t%s\t%d\t\n",
			c.Path, c.Concurrency, c.RPS, ratio(func(r *Ratios) float64 { return r.RPS }),
			c.Latency.P50, ratio(func(r *Ratios) float64 { return r.P50 }),
			c.Latency.P90, ratio(func(r *Ratios) float64 { return r.P90 }),
			c.Latency.P99, ratio(func(r *Ratios) float64 { return r.P99 }),
			c.Latency.Max, ratio(func(r *Ratios) float64 { return r.Max }),
			c.Errors)
	}
	_ = tw.Flush()
	for _, c := range r.Cells {
		if c.FirstError != "" {
			_, _ = fmt.Fprintf(w, "  %s c=%d: %d errors, first: %s\n", c.Path, c.Concurrency, c.Errors, c.FirstError)
		}
	}

	_, _ = fmt.Fprintln(w, "\nTime to first token (client side)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "path\tconc\tp50 ms\tp90 ms\tp99 ms\tmax ms\tp50 added vs direct\t")
	for _, c := range r.Cells {
		if c.TTFT == nil {
			continue
		}
		// Only text streams have a direct counterpart (direct-stream).
		added := "-"
		if d := r.find("direct-stream", c.Concurrency); c.Path != "direct-stream" && c.Baseline == "floor-stream" && measured(d) && d.TTFT != nil {
			added = fmt.Sprintf("%+.3f", c.TTFT.P50-d.TTFT.P50)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t\n", c.Path, c.Concurrency,
			c.TTFT.P50, c.TTFT.P90, c.TTFT.P99, c.TTFT.Max, added)
	}
	_ = tw.Flush()

	if m := r.Memory; m != nil {
		_, _ = fmt.Fprintf(w, "\nMemory: %d of %d streams open (%d failed) over %d gRPC connections, opened in %.1fs\n",
			m.Opened, m.Streams, m.Failed, m.Conns, m.OpenSeconds)
		_, _ = fmt.Fprintf(w, "  gateway RSS %s before, %s with them open (VmHWM %s): %.1f KiB per stream\n",
			mib(m.BaselineRSS), mib(m.PeakRSS), mib(m.HWM), m.PerStream/1024)
		if m.FirstError != "" {
			_, _ = fmt.Fprintf(w, "  first failure: %s\n", m.FirstError)
		}
	}

	_, _ = fmt.Fprintln(w, "\nTargets")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		verdict, value := "n/a", "-"
		if !math.IsNaN(t.Value) {
			value = fmt.Sprintf("%.3f", t.Value)
		}
		if t.Met != nil {
			verdict = map[bool]string{true: "met", false: "NOT MET"}[*t.Met]
		}
		note := ""
		if t.Note != "" {
			note = "(" + t.Note + ")"
		}
		_, _ = fmt.Fprintf(tw, "  %s\t%s\t%s\t%s %s\n", t.Name, value, t.Limit, verdict, note)
	}
	_ = tw.Flush()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// writeJSON writes the report to path. NaN ratios (a floor of zero) are
// written as null.
func (r *Report) writeJSON(path string) error {
	for i := range r.Targets {
		if math.IsNaN(r.Targets[i].Value) {
			r.Targets[i].Value = 0
		}
	}
	for i := range r.Cells {
		if rt := r.Cells[i].Ratio; rt != nil && (math.IsNaN(rt.RPS) || math.IsNaN(rt.P50)) {
			r.Cells[i].Ratio = nil
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readReport reads a report written by an earlier run.
func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// printCompare writes how this run's cells differ from old's.
func (r *Report) printCompare(w io.Writer, old *Report, oldName string) {
	_, _ = fmt.Fprintf(w, "\nCompared with %s (%s)\n", oldName, old.Time)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "path\tconc\treq/s old\tnew\tchange\tp99 ms old\tnew\tchange\t×fl old\tnew\t")
	pct := func(a, b float64) string {
		if a == 0 {
			return "-"
		}
		return fmt.Sprintf("%+.1f%%", (b-a)/a*100)
	}
	for _, c := range r.Cells {
		o := old.find(c.Path, c.Concurrency)
		if !measured(&c) || !measured(o) {
			continue
		}
		rf := func(x *Ratios) string {
			if x == nil {
				return "-"
			}
			return fmt.Sprintf("%.2f", x.RPS)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%s\t%.3f\t%.3f\t%s\t%s\t%s\t\n", c.Path, c.Concurrency,
			o.RPS, c.RPS, pct(o.RPS, c.RPS), o.Latency.P99, c.Latency.P99, pct(o.Latency.P99, c.Latency.P99),
			rf(o.Ratio), rf(c.Ratio))
	}
	_ = tw.Flush()
}

// machineInfo describes this machine.
func machineInfo() Machine {
	m := Machine{}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}
