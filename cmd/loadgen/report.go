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
	// IdleRSS is the gateway's VmRSS after it started, before any
	// request, in bytes; IdleRSSAnon and IdleRSSFile are its anonymous
	// part (heap, stacks) and its file-backed part (mostly the pages of
	// the binary it has touched), RssAnon and RssFile.
	IdleRSS     int64    `json:"idle_rss_bytes,omitempty"`
	IdleRSSAnon int64    `json:"idle_rss_anon_bytes,omitempty"`
	IdleRSSFile int64    `json:"idle_rss_file_bytes,omitempty"`
	Memory      *Memory  `json:"memory,omitempty"`
	Targets     []Target `json:"targets"`
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

// throughputTargets are the least requests per second of each path, as a
// ratio to its floor's (its baseline row) at targetConcurrency.
var throughputTargets = []struct {
	path string
	min  float64
}{
	{"grpc-miss", 0.85},
	{"openai-miss", 0.80},
	{"rest-miss", 0.75},
	{"anthropic-miss", 0.70},
	{"grpc-hit", 1.8},
	{"redis-miss", 0.55},
	{"grpc-stream", 0.8},
}

// The latency and memory targets.
const (
	// addedP50Conc is the concurrency at which addedP50Paths' median
	// latency is compared with the direct path's.
	addedP50Conc = 1
	// maxAddedP50 bounds that difference, in milliseconds.
	maxAddedP50 = 0.12
	// maxStreamKiB bounds the RSS each of the targetStreams open streams
	// adds.
	maxStreamKiB  = 40
	targetStreams = 10000
	// maxIdleMiB bounds the gateway's RSS after start, before any load.
	maxIdleMiB = 40
)

var addedP50Paths = []string{"grpc-miss", "openai-miss"}

// checkTargets judges the run against the performance targets. A target
// whose cells were not measured is listed as n/a.
func (r *Report) checkTargets() {
	add := func(name, limit string, value float64, ok bool, measurable bool, note string) {
		t := Target{Name: name, Limit: limit, Value: value, Note: note}
		if measurable && !math.IsNaN(value) {
			t.Met = &ok
		}
		r.Targets = append(r.Targets, t)
	}
	// why is the note of a target whose cell is missing, n/a or has no
	// correct answer.
	why := func(c *Cell) string {
		switch {
		case c == nil:
			return "not measured"
		case c.NA != "":
			return c.NA
		case c.Requests == 0:
			return fmt.Sprintf("no correct answer, %d errors", c.Errors)
		}
		return ""
	}
	c := targetConcurrency
	for _, t := range throughputTargets {
		cell := r.find(t.path, c)
		base := spec(t.path).baseline
		value, note := math.NaN(), why(cell)
		if measured(cell) && cell.Ratio != nil {
			value = cell.Ratio.RPS
		} else if note == "" {
			note = base + " not measured"
		}
		add(fmt.Sprintf("%s c=%d throughput / %s", t.path, c, base), fmt.Sprintf(">= %g", t.min),
			value, value >= t.min, true, note)
	}
	for _, p := range addedP50Paths {
		cell, direct := r.find(p, addedP50Conc), r.find("direct", addedP50Conc)
		value, note := math.NaN(), why(cell)
		if measured(cell) && measured(direct) {
			value = cell.Latency.P50 - direct.Latency.P50
		} else if note == "" {
			note = "direct not measured"
		}
		add(fmt.Sprintf("%s c=%d p50 added vs direct (ms)", p, addedP50Conc), fmt.Sprintf("<= %g", maxAddedP50),
			value, value <= maxAddedP50, true, note)
	}
	if m := r.Memory; m != nil && m.Opened > 0 {
		kib := m.PerStream / 1024
		note := ""
		if m.Opened < targetStreams {
			note = "fewer than 10,000 streams"
		}
		add(fmt.Sprintf("RSS per open stream, %d streams (KiB)", m.Opened), fmt.Sprintf("<= %d", maxStreamKiB),
			kib, kib <= maxStreamKiB && m.Opened >= targetStreams, true, note)
	} else {
		add("RSS per open stream (KiB)", fmt.Sprintf("<= %d", maxStreamKiB), math.NaN(), false, false, "not measured")
	}
	idle, note := math.NaN(), "not measured"
	if r.IdleRSS > 0 {
		idle, note = float64(r.IdleRSS)/(1<<20), ""
	}
	add("gateway RSS after start, before any load (MiB)", fmt.Sprintf("<= %d", maxIdleMiB), idle, idle <= maxIdleMiB, true, note)
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

	if r.IdleRSS > 0 {
		_, _ = fmt.Fprintf(w, "\nIdle: gateway RSS %s after start, before any load (anonymous %s, file-backed %s)\n",
			mib(r.IdleRSS), mib(r.IdleRSSAnon), mib(r.IdleRSSFile))
	}
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
