package chaos_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what the soak measured.
type report struct {
	duration time.Duration
	events   []event
	results  []result

	sent, finished, lost int64
	// client is the calls the clients sent to each replica, server the
	// calls each replica logged as handled.
	client []int64
	server map[int]int
	// term is the replica stopped with SIGTERM.
	term int
	// starts and ends are the replicas' samples after warm-up and once the
	// load stopped (surviving replicas only).
	starts, ends map[int]sample
	// faults counts the primary's injected faults by kind.
	faults map[string]int64
}

// classes counts the results by outcome class.
func (r *report) classes() map[string]int {
	out := map[string]int{}
	for _, res := range r.results {
		out[res.class]++
	}
	return out
}

// percentile is the q-quantile of sorted durations (0 when empty).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// String is the figures table.
func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos soak: %v, 3 replicas sharing one Redis, %d clients of each kind\n",
		r.duration.Round(time.Second), *soakWorkers)
	b.WriteString("faults:\n")
	for _, e := range r.events {
		fmt.Fprintf(&b, "  %5.1fs–%5.1fs  %s\n", e.at.Seconds(), e.until.Seconds(), e.what)
	}
	fmt.Fprintf(&b, "primary provider faults injected: %v\n", r.faults)
	fmt.Fprintf(&b, "requests: %d sent, %d finished, lost %d\n\n", r.sent, r.finished, r.lost)

	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(w, "kind\tcalls\tanswered\terrors\tp50\tp99\tmax\tanswered p99\t")
	byKind := map[string][]result{}
	for _, res := range r.results {
		byKind[res.kind] = append(byKind[res.kind], res)
		byKind["all"] = append(byKind["all"], res)
	}
	for _, k := range []string{kindComplete, kindStream, kindREST, kindSSE, "all"} {
		var all, ok []time.Duration
		for _, res := range byKind[k] {
			all = append(all, res.elapsed)
			if res.ok() {
				ok = append(ok, res.elapsed)
			}
		}
		slices.Sort(all)
		slices.Sort(ok)
		var maxD time.Duration
		if len(all) > 0 {
			maxD = all[len(all)-1]
		}
		_, _ = fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%v\t%v\t%v\t%v\t\n", k, len(all), len(ok), len(all)-len(ok),
			percentile(all, 0.5).Round(time.Millisecond), percentile(all, 0.99).Round(time.Millisecond),
			maxD.Round(time.Millisecond), percentile(ok, 0.99).Round(time.Millisecond))
	}
	_ = w.Flush()

	b.WriteString("\noutcomes:\n")
	classes := r.classes()
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range slices.Sorted(maps.Keys(classes)) {
		_, _ = fmt.Fprintf(w, "  %s\t%d\t%.2f%%\n", c, classes[c], 100*float64(classes[c])/float64(max(len(r.results), 1)))
	}
	_ = w.Flush()

	b.WriteString("\nreplicas:\n")
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(w, "replica\tclient calls\tserver calls\tRSS start\tRSS end\tgoroutines start\tgoroutines end\t")
	for i, sent := range r.client {
		name := fmt.Sprintf("gateway%d", i)
		end := "—"
		rssEnd, gEnd := end, end
		if e, ok := r.ends[i]; ok {
			rssEnd, gEnd = mib(e.rss), fmt.Sprint(e.goroutines)
		}
		if i == r.term {
			name += " (SIGTERM)"
			rssEnd, gEnd = "exited", "exited"
		}
		_, _ = fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%v\t%s\t\n", name, sent, r.server[i],
			mib(r.starts[i].rss), rssEnd, r.starts[i].goroutines, gEnd)
	}
	_ = w.Flush()
	return b.String()
}

// checkResults asserts that every call ended within its deadline with an
// answer or a clear error status.
func (c *chaos) checkResults(r report) {
	t := c.t
	var late, unclear []string
	for _, res := range r.results {
		desc := fmt.Sprintf("%s to gateway%d at %.1fs: %s after %v", res.kind, res.replica,
			res.start.Sub(c.start).Seconds(), res.class, res.elapsed.Round(time.Millisecond))
		if res.elapsed > res.deadline+deadlineSlack {
			late = append(late, desc)
		}
		if res.problem != "" {
			unclear = append(unclear, desc+": "+res.problem)
		}
	}
	show := func(what string, list []string) {
		if len(list) == 0 {
			return
		}
		t.Errorf("%d calls %s; the first:\n  %s", len(list), what, strings.Join(list[:min(len(list), 20)], "\n  "))
	}
	show(fmt.Sprintf("ended more than %v past their deadline", deadlineSlack), late)
	show("ended without an answer or a clear error status", unclear)
	if len(r.results) == 0 {
		t.Error("no calls were made")
	}
}

// checkCounts asserts that no call was lost: every call a client sent ended
// on the client, and each surviving replica logged exactly the calls sent
// to it. The stopped replica may have logged fewer: the calls it refused
// before they reached its handler (connections refused once it stopped
// listening, streams refused by its GOAWAY, REST calls whose inner gRPC
// call it refused), which the clients saw as transport errors.
func (c *chaos) checkCounts(r report) {
	t := c.t
	if r.lost != 0 {
		t.Errorf("%d calls lost: sent %d, finished %d", r.lost, r.sent, r.finished)
	}
	for i, sent := range r.client {
		got := int64(r.server[i])
		if i != r.term {
			if got != sent {
				t.Errorf("gateway%d: clients sent %d calls, the replica logged %d", i, sent, got)
			}
			continue
		}
		refused := int64(0)
		for _, res := range r.results {
			if res.replica == i && !res.ok() && res.start.Add(res.elapsed).After(c.sigtermAt) &&
				(res.transport || strings.HasPrefix(res.class, "http 503 (no reason)")) {
				refused++
			}
		}
		if got > sent || sent-got > refused {
			t.Errorf("gateway%d (stopped): clients sent %d calls, the replica logged %d, %d were refused after SIGTERM",
				i, sent, got, refused)
		}
	}
	if r.term < 0 {
		return
	}
	// The stopped replica: its in-flight streams finished or ended with a
	// clear status (checked with every call), calls sent after it exited
	// failed fast, and readiness turned off before it went away.
	inFlight, finished := 0, 0
	for _, res := range r.results {
		if res.replica != r.term {
			continue
		}
		if (res.kind == kindStream || res.kind == kindSSE) && res.start.Before(c.sigtermAt) && res.start.Add(res.elapsed).After(c.sigtermAt) {
			inFlight++
			if res.ok() {
				finished++
			}
		}
		if res.start.After(c.exitAt) && (res.ok() || res.elapsed > failFast) {
			t.Errorf("gateway%d had exited, yet a call to it ended %s after %v", r.term, res.class, res.elapsed)
		}
	}
	t.Logf("gateway%d: SIGTERM with %d streams in flight, %d of them finished with their final message; exited after %v; not ready seen: %v",
		r.term, inFlight, finished, c.drainedAt.Round(time.Millisecond), c.sawNotReady)
	if inFlight == 0 {
		t.Errorf("gateway%d: no stream was in flight at SIGTERM", r.term)
	}
	if !c.sawNotReady && c.drainedAt > 200*time.Millisecond {
		t.Errorf("gateway%d drained for %v without /readyz answering 503", r.term, c.drainedAt)
	}
}

// checkMemory asserts that the surviving replicas' memory and goroutines
// stayed flat over the soak.
func (c *chaos) checkMemory(r report) {
	t := c.t
	for i, end := range r.ends {
		start := r.starts[i]
		if limit := uint64(float64(start.rss)*rssGrowth) + rssSlack; end.rss > limit {
			t.Errorf("gateway%d RSS grew from %s to %s (limit %s)", i, mib(start.rss), mib(end.rss), mib(limit))
		}
		if end.goroutines > start.goroutines+goroutineSlack {
			t.Errorf("gateway%d goroutines grew from %v under load to %v idle", i, start.goroutines, end.goroutines)
		}
	}
}
