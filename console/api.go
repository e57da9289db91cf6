package console

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/usage"
)

// TargetP95 is the architecture's latency target: 95 % of calls answered
// within 3 s.
const TargetP95 = 3 * time.Second

// Sources are what the console reads besides its own window: the shared
// stores and the live configuration. Nil fields leave their figures out.
type Sources struct {
	// Usage is the usage and cost ledger (shared by replicas on Redis).
	Usage usage.Store
	// Experiments is the experiment store (shared by replicas on Redis).
	Experiments experiment.Store
	// Config returns the live configuration.
	Config func() *config.Config
	// Reload returns the reloader's status, as /admin/config shows it.
	Reload func() any
	// Breakers returns every provider's circuit breaker now.
	Breakers func() []Breaker
}

// Breaker is one provider's circuit breaker.
type Breaker struct {
	Provider    string  `json:"provider"`
	State       string  `json:"state"`
	FailureRate float64 `json:"failure_rate"`
	Executions  uint    `json:"executions"`
}

// Scope values say whose figures a response holds.
const (
	// ScopeReplica marks figures of this replica alone (its window).
	ScopeReplica = "replica"
	// ScopeCluster marks figures read from a store the replicas share.
	ScopeCluster = "cluster"
)

// num is a number that encodes NaN and infinities as null.
type num float64

// MarshalJSON implements json.Marshaler.
func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 10, 64), nil
}

// span is a time range of the window.
type span struct {
	name  string
	step  time.Duration
	slots int
	ring  func(*series) *ring
}

var spans = map[string]span{
	"1h":  {"1h", hourStep, hourSlots, func(s *series) *ring { return &s.hour }},
	"24h": {"24h", dayStep, daySlots, func(s *series) *ring { return &s.day }},
}

func spanOf(r *http.Request) (span, bool) {
	name := r.URL.Query().Get("range")
	if name == "" {
		name = "1h"
	}
	sp, ok := spans[name]
	return sp, ok
}

// timeline adds up, per bucket of sp ending with now's, the series that
// keep accepts; it returns the buckets' start times (Unix seconds) too.
func (c *Console) timeline(sp span, now time.Time, keep func(*series) bool) ([]int64, []sums) {
	last := now.UnixNano() / int64(sp.step)
	ts := make([]int64, sp.slots)
	out := make([]sums, sp.slots)
	for i := range ts {
		ts[i] = (last - int64(sp.slots-1-i)) * int64(sp.step) / int64(time.Second)
	}
	for _, s := range c.win.all() {
		if keep != nil && !keep(s) {
			continue
		}
		r := sp.ring(s)
		for i := range out {
			if b := r.get(last - int64(sp.slots-1-i)); b != nil {
				out[i].addBucket(b)
			}
		}
	}
	return ts, out
}

// totals adds up over sp, by name, the series that group names; a series
// it returns false for counts in none.
func (c *Console) totals(sp span, now time.Time, group func(*series) (string, bool)) map[string]*sums {
	last := now.UnixNano() / int64(sp.step)
	out := map[string]*sums{}
	for _, s := range c.win.all() {
		name, ok := group(s)
		if !ok {
			continue
		}
		t := out[name]
		if t == nil {
			t = &sums{}
			out[name] = t
		}
		r := sp.ring(s)
		for n := last - int64(sp.slots-1); n <= last; n++ {
			if b := r.get(n); b != nil {
				t.addBucket(b)
			}
		}
	}
	return out
}

// sumOf adds up a timeline's buckets.
func sumOf(per []sums) sums {
	var t sums
	for i := range per {
		t.add(&per[i])
	}
	return t
}

// Figures are the headline numbers of a set of calls over a range.
type Figures struct {
	Requests     int64 `json:"requests"`
	Errors       int64 `json:"errors"`
	RPS          num   `json:"rps"`
	ErrorRate    num   `json:"error_rate"`
	P50MS        num   `json:"p50_ms"`
	P95MS        num   `json:"p95_ms"`
	P99MS        num   `json:"p99_ms"`
	TTFTP50MS    num   `json:"ttft_p50_ms"`
	TTFTP95MS    num   `json:"ttft_p95_ms"`
	CacheHitRate num   `json:"cache_hit_rate"`
	TokensPerMin num   `json:"tokens_per_min"`
	CostPerHour  num   `json:"cost_per_hour_usd"`
	CostUSD      num   `json:"cost_usd"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	Retries      int64 `json:"retries"`
	Failed       int64 `json:"failed_attempts"`
	Hedges       int64 `json:"hedges"`
	HedgesWon    int64 `json:"hedges_won"`
	// Steps counts answers by the failover step that produced them.
	Steps map[string]int64 `json:"steps"`
	// Codes counts calls by gRPC status, errors and OK.
	Codes map[string]int64 `json:"codes"`
}

func figures(s *sums, seconds float64) Figures {
	f := Figures{Requests: s.requests, Errors: s.errors, ErrorRate: num(ratio(s.errors, s.requests)),
		P50MS: num(quantile(&s.lat, .50)), P95MS: num(quantile(&s.lat, .95)), P99MS: num(quantile(&s.lat, .99)),
		TTFTP50MS: num(quantile(&s.ttft, .50)), TTFTP95MS: num(quantile(&s.ttft, .95)),
		CacheHitRate: num(ratio(s.cacheHits, s.cacheable)),
		CostUSD:      num(float64(s.cost) / usage.NanosPerUSD), InputTokens: s.inTok, OutputTokens: s.outTok,
		Retries: s.retries, Failed: s.failed, Hedges: s.hedges, HedgesWon: s.hedgesWon,
		Steps: map[string]int64{}, Codes: map[string]int64{}}
	if seconds > 0 {
		f.RPS = num(float64(s.requests) / seconds)
		f.TokensPerMin = num(float64(s.inTok+s.outTok) / seconds * 60)
		f.CostPerHour = num(float64(s.cost) / usage.NanosPerUSD / seconds * 3600)
	} else {
		f.RPS, f.TokensPerMin, f.CostPerHour = num(math.NaN()), num(math.NaN()), num(math.NaN())
	}
	for i, n := range s.steps {
		if n > 0 {
			f.Steps[stepNames[i]] = n
		}
	}
	for i, n := range s.codes {
		if n > 0 {
			f.Codes[codeName(codes.Code(i))] = n
		}
	}
	return f
}

// Timeline is a chart's data: one value per bucket, null where there was
// nothing to measure.
type Timeline struct {
	// StepSeconds is the buckets' length.
	StepSeconds int `json:"step_seconds"`
	// T are the buckets' starts, in Unix seconds.
	T            []int64 `json:"t"`
	RPS          []num   `json:"rps"`
	ErrorRate    []num   `json:"error_rate"`
	P50MS        []num   `json:"p50_ms"`
	P95MS        []num   `json:"p95_ms"`
	P99MS        []num   `json:"p99_ms"`
	TTFTP95MS    []num   `json:"ttft_p95_ms"`
	CacheHitRate []num   `json:"cache_hit_rate"`
	TokensPerMin []num   `json:"tokens_per_min"`
	CostPerHour  []num   `json:"cost_per_hour_usd"`
}

// timelineOf charts per; buckets that ended before started (when the
// window began to fill) are null.
func timelineOf(sp span, now, started time.Time, ts []int64, per []sums) Timeline {
	n := len(ts)
	tl := Timeline{StepSeconds: int(sp.step / time.Second), T: ts, RPS: make([]num, n), ErrorRate: make([]num, n),
		P50MS: make([]num, n), P95MS: make([]num, n), P99MS: make([]num, n), TTFTP95MS: make([]num, n),
		CacheHitRate: make([]num, n), TokensPerMin: make([]num, n), CostPerHour: make([]num, n)}
	for i := range per {
		s := &per[i]
		secs := sp.step.Seconds()
		if i == n-1 { // the current bucket, still filling
			secs = math.Max(1, now.Sub(time.Unix(ts[i], 0)).Seconds())
		}
		if time.Unix(ts[i], 0).Add(sp.step).Before(started) {
			secs = 0 // nothing was measured: every figure is null
		}
		f := figures(s, secs)
		tl.RPS[i], tl.ErrorRate[i], tl.P50MS[i], tl.P95MS[i], tl.P99MS[i] = f.RPS, f.ErrorRate, f.P50MS, f.P95MS, f.P99MS
		tl.TTFTP95MS[i], tl.CacheHitRate[i], tl.TokensPerMin[i], tl.CostPerHour[i] = f.TTFTP95MS, f.CacheHitRate, f.TokensPerMin, f.CostPerHour
	}
	return tl
}

// header is what every response starts with.
type header struct {
	Replica string    `json:"replica"`
	Now     time.Time `json:"now"`
	Scope   string    `json:"scope"`
}

func (c *Console) header(now time.Time, scope string) header {
	return header{Replica: c.replica, Now: now.UTC(), Scope: scope}
}

// Overview is /console/api/overview.
type Overview struct {
	header
	Range       string   `json:"range"`
	TargetP95MS float64  `json:"target_p95_ms"`
	Totals      Figures  `json:"totals"`
	Timeline    Timeline `json:"timeline"`
	Routes      []Row    `json:"routes"`
}

// Row is one row of a table of figures.
type Row struct {
	Name string `json:"name"`
	Figures
}

// seconds is how long of sp the window has been filling: the range, or
// the time since the console started when that is shorter.
func (c *Console) seconds(sp span, now time.Time, ts []int64) float64 {
	from := time.Unix(ts[0], 0)
	if c.started.After(from) {
		from = c.started
	}
	return math.Max(1, now.Sub(from).Seconds())
}

func (c *Console) overview(sp span) Overview {
	now := c.now()
	ts, per := c.timeline(sp, now, nil)
	tot := sumOf(per)
	secs := c.seconds(sp, now, ts)
	o := Overview{header: c.header(now, ScopeReplica), Range: sp.name, TargetP95MS: msOf(TargetP95),
		Totals: figures(&tot, secs), Timeline: timelineOf(sp, now, c.started, ts, per), Routes: []Row{}}
	byRoute := c.totals(sp, now, func(s *series) (string, bool) {
		switch {
		case s.route == "" && s.variant == "" && s.model == "":
			return "", false // a provider's retries and hedges, not calls
		case s.route == "":
			return "(none)", true
		}
		return s.route, true
	})
	for name, s := range byRoute {
		if s.requests > 0 {
			o.Routes = append(o.Routes, Row{Name: name, Figures: figures(s, secs)})
		}
	}
	slices.SortFunc(o.Routes, func(a, b Row) int { return strings.Compare(a.Name, b.Name) })
	return o
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}
