package console

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ProviderReport is one provider on /console/api/providers.
type ProviderReport struct {
	Name string `json:"name"`
	// Breaker is the provider's circuit breaker now; nil when the live
	// configuration has no such provider.
	Breaker *Breaker `json:"breaker"`
	// Figures are the calls the provider answered or was sent (errors),
	// and its retries and hedges.
	Figures
	// Models break the calls down by model.
	Models []Row `json:"models"`
	// ErrorClasses counts failed attempts by class since the replica
	// started.
	ErrorClasses map[string]int64 `json:"error_classes"`
	// Timeline is the provider's error rate and latency over the range.
	Timeline Timeline `json:"timeline"`
}

// Providers is /console/api/providers.
type Providers struct {
	header
	Range       string           `json:"range"`
	Providers   []ProviderReport `json:"providers"`
	Transitions []Transition     `json:"transitions"`
	// Failover counts, per route, the answers by failover step.
	Failover []Row `json:"failover"`
}

func (c *Console) providers(sp span, src *Sources) Providers {
	now := c.now()
	out := Providers{header: c.header(now, ScopeReplica), Range: sp.name, Providers: []ProviderReport{},
		Failover: []Row{}}
	breakers := map[string]*Breaker{}
	if src.Breakers != nil {
		for _, b := range src.Breakers() {
			breakers[b.Provider] = &b
		}
	}
	names := map[string]bool{}
	for n := range breakers {
		names[n] = true
	}
	for _, s := range c.win.all() {
		if s.provider != "" {
			names[s.provider] = true
		}
	}
	c.mu.Lock()
	classes := make(map[string]map[string]int64, len(c.errClasses))
	for p, m := range c.errClasses {
		classes[p] = maps.Clone(m)
	}
	out.Transitions = slices.Clone(c.transitions)
	c.mu.Unlock()
	slices.Reverse(out.Transitions) // newest first
	if out.Transitions == nil {
		out.Transitions = []Transition{}
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		ts, per := c.timeline(sp, now, func(s *series) bool { return s.provider == name })
		tot := sumOf(per)
		pr := ProviderReport{Name: name, Breaker: breakers[name], Figures: figures(&tot, c.seconds(sp, now, ts)),
			Models: []Row{}, ErrorClasses: classes[name], Timeline: timelineOf(sp, now, c.started, ts, per)}
		if pr.ErrorClasses == nil {
			pr.ErrorClasses = map[string]int64{}
		}
		models := c.totals(sp, now, func(s *series) (string, bool) { return s.model, s.provider == name && s.model != "" })
		for _, m := range slices.Sorted(maps.Keys(models)) {
			pr.Models = append(pr.Models, Row{Name: m, Figures: figures(models[m], c.seconds(sp, now, ts))})
		}
		out.Providers = append(out.Providers, pr)
	}
	routes := c.totals(sp, now, func(s *series) (string, bool) { return s.route, s.route != "" })
	for _, r := range slices.Sorted(maps.Keys(routes)) {
		if t := routes[r]; t.requests > 0 {
			out.Failover = append(out.Failover, Row{Name: r, Figures: figures(t, c.seconds(sp, now, []int64{now.Add(-sp.step * time.Duration(sp.slots)).Unix()}))})
		}
	}
	return out
}

// Call is one recent call on /console/api/calls.
type Call struct {
	Time           time.Time `json:"time"`
	RPC            string    `json:"rpc"`
	Route          string    `json:"route"`
	Variant        string    `json:"variant"`
	Provider       string    `json:"provider"`
	Model          string    `json:"model"`
	Client         string    `json:"client"`
	Status         string    `json:"status"`
	Step           string    `json:"step"`
	Cache          string    `json:"cache"`
	InputTokens    int64     `json:"input_tokens"`
	OutputTokens   int64     `json:"output_tokens"`
	CostUSD        num       `json:"cost_usd"`
	LatencyMS      num       `json:"latency_ms"`
	TTFTMS         num       `json:"ttft_ms"`
	FailedAttempts int       `json:"failed_attempts"`
}

// Calls is /console/api/calls.
type Calls struct {
	header
	Calls []Call `json:"calls"`
}

func (c *Console) recentCalls(r *http.Request) Calls {
	q := r.URL.Query()
	match := func(field, v string) bool {
		want := q.Get(field)
		return want == "" || strings.EqualFold(want, v)
	}
	out := Calls{header: c.header(c.now(), ScopeReplica), Calls: []Call{}}
	for _, o := range c.calls.list() {
		call := Call{Time: o.Time.UTC(), RPC: o.RPC, Route: o.Route, Variant: o.Variant, Provider: o.Provider,
			Model: o.Model, Client: o.Client, Status: codeName(o.Code), Step: o.Step, Cache: o.Cache,
			InputTokens: o.InputTokens, OutputTokens: o.OutputTokens, CostUSD: num(float64(o.CostNanos) / 1e9),
			LatencyMS: num(msOf(o.Latency)), TTFTMS: num(math.NaN()), FailedAttempts: o.FailedAttempts}
		if o.TTFT > 0 {
			call.TTFTMS = num(msOf(o.TTFT))
		}
		if match("route", call.Route) && match("variant", call.Variant) && match("provider", call.Provider) &&
			match("status", call.Status) && match("step", call.Step) && match("client", call.Client) {
			out.Calls = append(out.Calls, call)
		}
	}
	return out
}
