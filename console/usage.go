package console

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/usage"
)

// UsageRow is one day and one value of the dimension grouped by.
type UsageRow struct {
	Day          string `json:"day"`
	Key          string `json:"key"`
	Requests     int64  `json:"requests"`
	CacheHits    int64  `json:"cache_hits"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	CostNanos    int64  `json:"cost_nanos"`
	CostUSD      num    `json:"cost_usd"`
}

// Budget is one configured USD budget and what it has burnt in its
// current period (the UTC day or month), per the ledger.
type Budget struct {
	// Limit is the rate_limits.json entry's name; Period "day" or "month".
	Limit  string `json:"limit"`
	Period string `json:"period"`
	// Group is the counter within the limit: the client and/or route it is
	// kept for ("" for a limit with one counter).
	Group      string `json:"group"`
	LimitNanos int64  `json:"limit_nanos"`
	SpentNanos int64  `json:"spent_nanos"`
	LimitUSD   num    `json:"limit_usd"`
	SpentUSD   num    `json:"spent_usd"`
	// Burn is SpentNanos / LimitNanos.
	Burn num `json:"burn"`
	// Note says what the ledger cannot show (per-user counters).
	Note string `json:"note,omitempty"`
}

// Usage is /console/api/usage: the ledger's figures, which replicas
// sharing Redis share.
type Usage struct {
	header
	Days    int        `json:"days"`
	GroupBy string     `json:"group_by"`
	Rows    []UsageRow `json:"rows"`
	Budgets []Budget   `json:"budgets"`
}

var groupings = map[string]usage.Dimension{
	"route": usage.ByRoute, "provider": usage.ByProvider, "model": usage.ByModel, "client": usage.ByClient,
}

func keyOf(group string, d usage.Dims) string {
	var k string
	switch group {
	case "route":
		k = d.Route
	case "provider":
		k = d.Provider
	case "model":
		k = d.Model
	default:
		k = d.Client
	}
	if k == "" {
		return "(none)"
	}
	return k
}

func (c *Console) usage(ctx context.Context, r *http.Request, src *Sources) (Usage, error) {
	q := r.URL.Query()
	days := 7
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > usage.DefaultRetention.Days {
			return Usage{}, fmt.Errorf("days must be 1 to %d", usage.DefaultRetention.Days)
		}
		days = n
	}
	group := cmp.Or(q.Get("group"), "route")
	dim, ok := groupings[group]
	if !ok {
		return Usage{}, fmt.Errorf("group must be route, provider, model or client")
	}
	now := c.now()
	out := Usage{header: c.header(now, ScopeCluster), Days: days, GroupBy: group, Rows: []UsageRow{}, Budgets: []Budget{}}
	if src.Usage == nil {
		return out, nil
	}
	start := usage.Day.Add(usage.Day.Start(now), -(days - 1))
	res, err := usage.Report(ctx, src.Usage, usage.Query{Granularity: usage.Day, Start: start, End: now, GroupBy: dim}, now)
	if err != nil {
		return Usage{}, err
	}
	for _, row := range res.Rows {
		out.Rows = append(out.Rows, UsageRow{Day: row.Start.Format(time.DateOnly), Key: keyOf(group, row.Dims),
			Requests: row.Requests, CacheHits: row.CacheHits, InputTokens: row.InputTokens, OutputTokens: row.OutputTokens,
			CostNanos: int64(row.Cost), CostUSD: num(row.Cost.USD())})
	}
	if src.Config != nil {
		if out.Budgets, err = budgets(ctx, src.Usage, src.Config().RateLimits, now); err != nil {
			return Usage{}, err
		}
	}
	return out, nil
}

// budgets computes the burn of every USD budget from the ledger.
func budgets(ctx context.Context, st usage.Store, rl config.RateLimits, now time.Time) ([]Budget, error) {
	out := []Budget{}
	periods := []struct {
		name  string
		g     usage.Granularity
		limit func(config.Limit) float64
	}{
		{"day", usage.Day, func(l config.Limit) float64 { return l.USDPerDay }},
		{"month", usage.Month, func(l config.Limit) float64 { return l.USDPerMonth }},
	}
	for _, p := range periods {
		var rows []usage.Row
		for _, l := range rl.Limits {
			if p.limit(l) <= 0 {
				continue
			}
			if rows == nil {
				res, err := usage.Report(ctx, st, usage.Query{Granularity: p.g, Start: p.g.Start(now), End: now,
					GroupBy: usage.ByRoute | usage.ByClient}, now)
				if err != nil {
					return nil, err
				}
				rows = append([]usage.Row{}, res.Rows...)
			}
			out = append(out, burn(l, p.name, int64(usage.FromUSD(p.limit(l))), rows)...)
		}
	}
	return out, nil
}

// burn is the spend of limit l's counters in rows.
func burn(l config.Limit, period string, limit int64, rows []usage.Row) []Budget {
	perClient, perRoute, perUser := false, false, false
	for _, s := range l.Scope {
		switch s {
		case config.ScopeAPIKey:
			perClient = true
		case config.ScopeRoute:
			perRoute = true
		case config.ScopeUser:
			perUser = true
		}
	}
	spent := map[string]int64{}
	for _, r := range rows {
		if len(l.Routes) > 0 && !slices.Contains(l.Routes, r.Route) {
			continue
		}
		if len(l.Clients) > 0 && !slices.Contains(l.Clients, r.Client) {
			continue
		}
		var g string
		if perClient {
			g = "client " + r.Client
		}
		if perRoute {
			if g != "" {
				g += ", "
			}
			g += "route " + r.Route
		}
		spent[g] += int64(r.Cost)
	}
	if len(spent) == 0 {
		spent[""] = 0
	}
	var out []Budget
	for _, g := range slices.Sorted(maps.Keys(spent)) {
		b := Budget{Limit: l.Name, Period: period, Group: g, LimitNanos: limit, SpentNanos: spent[g],
			LimitUSD: num(float64(limit) / usage.NanosPerUSD), SpentUSD: num(float64(spent[g]) / usage.NanosPerUSD),
			Burn: num(ratio(spent[g], limit))}
		if perUser {
			b.Note = "kept per user: the ledger has no user dimension, so this is the sum over all users (the quota store enforces each user's)"
		}
		out = append(out, b)
	}
	return out
}

// writeUsageCSV writes the rows as CSV, the columns of the usage table.
func writeUsageCSV(w http.ResponseWriter, u Usage) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="usage-%s-%dd.csv"`, u.GroupBy, u.Days))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"day", u.GroupBy, "requests", "cache_hits", "input_tokens", "output_tokens", "cost_usd"})
	for _, r := range u.Rows {
		_ = cw.Write([]string{r.Day, r.Key, strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.CacheHits, 10),
			strconv.FormatInt(r.InputTokens, 10), strconv.FormatInt(r.OutputTokens, 10), usdString(r.CostNanos)})
	}
	cw.Flush()
}

// usdString formats nano-dollars as dollars with all nine decimals, exactly.
func usdString(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%09d", sign, n/usage.NanosPerUSD, n%usage.NanosPerUSD)
}
