package edge_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/internal/redistest"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/usage"
)

const (
	usageAppKey   = "llmgw_usage-app-key-0123456789abcdef"
	usageOtherKey = "llmgw_usage-other-key-0123456789abcd"
	usageAdminKey = "llmgw_usage-admin-key-0123456789abcd"
)

func usageClients() string {
	return `{"clients": [
  {"name": "rails-app", "key_sha256": "` + config.HashKey(usageAppKey) + `", "routes": ["*"], "allow_model_override": true},
  {"name": "other", "key_sha256": "` + config.HashKey(usageOtherKey) + `", "routes": ["openai_only"]},
  {"name": "finance", "key_sha256": "` + config.HashKey(usageAdminKey) + `", "routes": ["openai_only"], "allow_all_usage": true}
]}`
}

func startUsageGateway(t *testing.T, opts edge.Options) *gateway {
	t.Helper()
	return startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     testRoutes,
		config.ClientsFile:          usageClients(),
	}, opts)
}

// spent adds up the answers a client received, as the ledger should.
type spent struct {
	requests, hits, in, out, cached int64
	cost, saved                     float64
}

func (s *spent) add(u *gatewayv1.Usage, cost float64, from gatewayv1.ServedFrom) {
	s.requests++
	s.cost += cost
	if from == gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT {
		s.hits++
		return
	}
	s.in += int64(u.GetInputTokens())
	s.out += int64(u.GetOutputTokens())
	s.cached += int64(u.GetCachedInputTokens())
}

// check compares a report's totals with what the answers said, cost to
// the cent (in fact to a millionth of a cent).
func (s *spent) check(t *testing.T, what string, tot *gatewayv1.UsageTotals) {
	t.Helper()
	if tot.GetRequests() != s.requests || tot.GetCacheHits() != s.hits || tot.GetInputTokens() != s.in ||
		tot.GetOutputTokens() != s.out || tot.GetCachedInputTokens() != s.cached {
		t.Errorf("%s: totals %v, the answers say %+v", what, tot, *s)
	}
	if math.Abs(tot.GetCostUsd()-s.cost) > 1e-8 || math.Round(tot.GetCostUsd()*100) != math.Round(s.cost*100) {
		t.Errorf("%s: cost $%.9f, the answers cost $%.9f", what, tot.GetCostUsd(), s.cost)
	}
	if math.Abs(tot.GetSavedUsd()-s.saved) > 1e-8 {
		t.Errorf("%s: saved $%.9f, want $%.9f", what, tot.GetSavedUsd(), s.saved)
	}
}

// TestUsageMatchesTheAnswers sends a mix of requests (two routes and
// providers, a model override, a stream, a cache hit, a failure) and
// checks that the Usage RPC reports what the answers said they cost, in
// every granularity and breakdown.
func TestUsageMatchesTheAnswers(t *testing.T) {
	g := startUsageGateway(t, edge.Options{})
	app := withKey(ctxT(t), usageAppKey)
	var mine, openai spent
	complete := func(ctx context.Context, r *gatewayv1.CompleteRequest) *gatewayv1.CompleteResponse {
		t.Helper()
		resp, err := g.client.Complete(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, route := range []string{"openai_only", "anthropic_only", "career_advice", "career_advice", "openai_only"} {
		resp := complete(app, request(route, "u1"))
		mine.add(resp.Usage, resp.CostUsd, resp.ServedFrom)
		if resp.Provider == "openai" {
			openai.add(resp.Usage, resp.CostUsd, resp.ServedFrom)
		}
	}
	override := request("", "u1")
	override.Route, override.Model = "", &gatewayv1.ModelOverride{Provider: "anthropic", Model: "claude-3-5-haiku-latest"}
	resp := complete(app, override)
	mine.add(resp.Usage, resp.CostUsd, resp.ServedFrom)

	st, err := g.client.Stream(app, request("anthropic_only", "u2"))
	if err != nil {
		t.Fatal(err)
	}
	_, final := drain(t, st)
	mine.add(final.Usage, final.CostUsd, final.ServedFrom)

	first := complete(app, deterministic("openai_only", "u3"))
	hit := complete(app, deterministic("openai_only", "u3"))
	if first.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_FRESH || hit.ServedFrom != gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT || hit.CostUsd != 0 {
		t.Fatalf("cache: first %v, then %v costing %v", first.ServedFrom, hit.ServedFrom, hit.CostUsd)
	}
	for _, r := range []*gatewayv1.CompleteResponse{first, hit} {
		mine.add(r.Usage, r.CostUsd, r.ServedFrom)
		openai.add(r.Usage, r.CostUsd, r.ServedFrom)
	}
	if first.CostUsd <= 0 {
		t.Fatalf("the first answer cost %v", first.CostUsd)
	}
	mine.saved, openai.saved = first.CostUsd, first.CostUsd // the hit saved what the first answer cost

	bad := request("", "u1")
	bad.Route, bad.Model = "", &gatewayv1.ModelOverride{Provider: "openai", Model: "no-such-model"}
	if _, err := g.client.Complete(app, bad); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("unknown model: %v", err)
	}

	var theirs spent
	resp, err = g.client.Complete(withKey(ctxT(t), usageOtherKey), request("openai_only", "u9"))
	if err != nil {
		t.Fatal(err)
	}
	theirs.add(resp.Usage, resp.CostUsd, resp.ServedFrom)

	usageOf := func(ctx context.Context, r *gatewayv1.UsageRequest) *gatewayv1.UsageResponse {
		t.Helper()
		u, err := g.client.Usage(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, gr := range []gatewayv1.Granularity{
		gatewayv1.Granularity_GRANULARITY_UNSPECIFIED, gatewayv1.Granularity_GRANULARITY_HOUR,
		gatewayv1.Granularity_GRANULARITY_DAY, gatewayv1.Granularity_GRANULARITY_MONTH,
	} {
		u := usageOf(app, &gatewayv1.UsageRequest{Granularity: gr})
		mine.check(t, gr.String(), u.Totals)
		if len(u.Rows) != 1 || u.Rows[0].Provider != "" || u.Rows[0].Client != "" {
			t.Errorf("%s without a breakdown: rows %v", gr, u.Rows)
		}
	}

	// Per provider per day: the architecture's token usage figure.
	u := usageOf(app, &gatewayv1.UsageRequest{GroupBy: []gatewayv1.UsageDimension{gatewayv1.UsageDimension_USAGE_DIMENSION_PROVIDER}})
	if u.Granularity != gatewayv1.Granularity_GRANULARITY_DAY || len(u.Rows) != 2 || u.Rows[0].Provider != "anthropic" || u.Rows[1].Provider != "openai" {
		t.Fatalf("by provider: %v", u)
	}
	row := u.Rows[1]
	openai.check(t, "openai's row", &gatewayv1.UsageTotals{Requests: row.Requests, CacheHits: row.CacheHits,
		InputTokens: row.InputTokens, OutputTokens: row.OutputTokens, CachedInputTokens: row.CachedInputTokens,
		CostUsd: row.CostUsd, SavedUsd: row.SavedUsd})
	if !row.BucketStart.AsTime().Equal(usage.Day.Start(time.Now())) {
		t.Errorf("bucket %v", row.BucketStart.AsTime())
	}

	// Filters.
	u = usageOf(app, &gatewayv1.UsageRequest{Route: "anthropic_only", Granularity: gatewayv1.Granularity_GRANULARITY_HOUR})
	if u.Totals.Requests != 2 {
		t.Errorf("anthropic_only: %v", u.Totals)
	}
	u = usageOf(app, &gatewayv1.UsageRequest{Model: "claude-3-5-haiku-latest",
		GroupBy: []gatewayv1.UsageDimension{gatewayv1.UsageDimension_USAGE_DIMENSION_ROUTE}})
	for _, r := range u.Rows {
		if r.Route == "" && r.Requests != 1 {
			t.Errorf("the model override's row: %v", r)
		}
	}

	// A client sees only its own usage, and may not ask for another's.
	other := usageOf(withKey(ctxT(t), usageOtherKey), &gatewayv1.UsageRequest{})
	theirs.check(t, "other", other.Totals)
	_, err = g.client.Usage(app, &gatewayv1.UsageRequest{Client: "other"})
	if s := status.Convert(err); s.Code() != codes.PermissionDenied || reasonOf(s) != "USAGE_NOT_ALLOWED" {
		t.Errorf("another client's usage: %v", err)
	}
	if u := usageOf(app, &gatewayv1.UsageRequest{Client: "rails-app"}); u.Totals.Requests != mine.requests {
		t.Errorf("own usage by name: %v", u.Totals)
	}

	// A client allowed every client's usage sees it all, by client.
	admin := withKey(ctxT(t), usageAdminKey)
	all := usageOf(admin, &gatewayv1.UsageRequest{GroupBy: []gatewayv1.UsageDimension{gatewayv1.UsageDimension_USAGE_DIMENSION_CLIENT}})
	if len(all.Rows) != 2 || all.Rows[0].Client != "other" || all.Rows[1].Client != "rails-app" {
		t.Fatalf("by client: %v", all.Rows)
	}
	both := mine
	both.requests += theirs.requests
	both.in += theirs.in
	both.out += theirs.out
	both.cost += theirs.cost
	both.check(t, "every client", all.Totals)
	theirs.check(t, "other, as finance sees it", usageOf(admin, &gatewayv1.UsageRequest{Client: "other"}).Totals)
}

func reasonOf(s *status.Status) string {
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return ""
}

// TestUsageBadRequests: the range rules of the contract.
func TestUsageBadRequests(t *testing.T) {
	g := startUsageGateway(t, edge.Options{})
	ctx := withKey(ctxT(t), usageAppKey)
	now := time.Now()
	for name, tc := range map[string]struct {
		req   *gatewayv1.UsageRequest
		field string
	}{
		"end before start": {&gatewayv1.UsageRequest{Start: timestamppb.New(now), End: timestamppb.New(now.Add(-time.Hour))}, "end"},
		"8 days of hours": {&gatewayv1.UsageRequest{Granularity: gatewayv1.Granularity_GRANULARITY_HOUR,
			Start: timestamppb.New(now.Add(-8 * 24 * time.Hour))}, "start"},
		"2 years of days":       {&gatewayv1.UsageRequest{Start: timestamppb.New(now.AddDate(-2, 0, 0)), End: timestamppb.New(now)}, "start"},
		"unknown granularity":   {&gatewayv1.UsageRequest{Granularity: 9}, "granularity"},
		"unspecified dimension": {&gatewayv1.UsageRequest{GroupBy: []gatewayv1.UsageDimension{0}}, "group_by[0]"},
		"repeated dimension": {&gatewayv1.UsageRequest{GroupBy: []gatewayv1.UsageDimension{
			gatewayv1.UsageDimension_USAGE_DIMENSION_MODEL, gatewayv1.UsageDimension_USAGE_DIMENSION_MODEL}}, "group_by"},
	} {
		_, err := g.client.Usage(ctx, tc.req)
		s := status.Convert(err)
		var fields []string
		for _, d := range s.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.FieldViolations {
					fields = append(fields, v.Field)
				}
			}
		}
		if s.Code() != codes.InvalidArgument || len(fields) != 1 || fields[0] != tc.field {
			t.Errorf("%s: %v, fields %v, want %s", name, err, fields, tc.field)
		}
	}
	// The longest ranges are fine.
	for _, r := range []*gatewayv1.UsageRequest{
		{Granularity: gatewayv1.Granularity_GRANULARITY_HOUR, Start: timestamppb.New(now.Add(-7 * 24 * time.Hour)), End: timestamppb.New(now)},
		{Granularity: gatewayv1.Granularity_GRANULARITY_DAY, Start: timestamppb.New(now.AddDate(0, 0, -400)), End: timestamppb.New(now)},
		{Granularity: gatewayv1.Granularity_GRANULARITY_MONTH, Start: timestamppb.New(now.AddDate(0, 0, -1830)), End: timestamppb.New(now)},
	} {
		if _, err := g.client.Usage(ctx, r); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
}

// TestUsageREST: GET /v1/usage with query parameters, as curl sends it.
func TestUsageREST(t *testing.T) {
	g := startUsageGateway(t, edge.Options{})
	resp, err := g.client.Complete(withKey(ctxT(t), usageAppKey), request("openai_only", "u"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(key, query string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, "http://"+g.httpAddr+"/v1/usage?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.Body.Close() }()
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%d %s: %v", r.StatusCode, b, err)
		}
		return r.StatusCode, body
	}
	q := url.Values{"granularity": {"GRANULARITY_HOUR"}, "group_by": {"USAGE_DIMENSION_PROVIDER", "USAGE_DIMENSION_MODEL"},
		"start": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}
	code, body := get(usageAppKey, q.Encode())
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, body)
	}
	totals, _ := body["totals"].(map[string]any)
	rows, _ := body["rows"].([]any)
	if len(rows) != 1 || totals["cost_usd"] != resp.CostUsd || totals["requests"] != "1" {
		t.Fatalf("body %v, want one request costing %v", body, resp.CostUsd)
	}
	row := rows[0].(map[string]any)
	if row["provider"] != "openai" || row["model"] != resp.Model || row["output_tokens"] != strconv.Itoa(int(resp.Usage.OutputTokens)) {
		t.Errorf("row %v", row)
	}
	if code, body := get(usageAppKey, "client=other"); code != http.StatusForbidden {
		t.Errorf("another client's usage: %d %v", code, body)
	}
	if code, body := get(usageAppKey, "granularity=GRANULARITY_HOUR&start=2020-01-01T00:00:00Z"); code != http.StatusBadRequest {
		t.Errorf("too long a range: %d %v", code, body)
	}
	if code, body := get("llmgw_wrong", ""); code != http.StatusUnauthorized {
		t.Errorf("bad key: %d %v", code, body)
	}
}

func newUsageRedis(t *testing.T, addr string) usage.Store {
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return usage.NewRedisStore(c, usage.RedisOptions{})
}

// TestUsageSharedThroughRedis: two replicas on one real redis-server keep
// one ledger; once both have written what they queued, either reports
// what both served.
func TestUsageSharedThroughRedis(t *testing.T) {
	addr := redistest.Start(t)
	a := startUsageGateway(t, edge.Options{Service: core.Options{Usage: newUsageRedis(t, addr)}})
	b := startUsageGateway(t, edge.Options{Service: core.Options{Usage: newUsageRedis(t, addr)}})
	var all spent
	for i, g := range []*gateway{a, b, a, b} {
		resp, err := g.client.Complete(withKey(ctxT(t), usageAppKey), request([]string{"openai_only", "anthropic_only"}[i%2], "u"))
		if err != nil {
			t.Fatal(err)
		}
		all.add(resp.Usage, resp.CostUsd, resp.ServedFrom)
	}
	st, err := b.client.Stream(withKey(ctxT(t), usageAppKey), request("openai_only", "s"))
	if err != nil {
		t.Fatal(err)
	}
	_, final := drain(t, st)
	all.add(final.Usage, final.CostUsd, final.ServedFrom)
	// Each replica writes its answers in the background: a replica's
	// Usage waits for its own, another's are written within milliseconds.
	for _, g := range []*gateway{a, b} {
		if err := g.srv.Service().Ledger().Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []*gateway{a, b} {
		u, err := g.client.Usage(withKey(ctxT(t), usageAppKey), &gatewayv1.UsageRequest{Granularity: gatewayv1.Granularity_GRANULARITY_MONTH})
		if err != nil {
			t.Fatal(err)
		}
		all.check(t, "replica", u.Totals)
	}
}

// TestUsageRedisDownDoesNotFailAnswers: with the ledger's Redis gone,
// answers are still served; the Usage RPC says the store is unavailable.
func TestUsageRedisDownDoesNotFailAnswers(t *testing.T) {
	srv := redistest.StartServer(t)
	g := startUsageGateway(t, edge.Options{Service: core.Options{Usage: newUsageRedis(t, srv.Addr())}})
	ctx := withKey(ctxT(t), usageAppKey)
	srv.Kill()
	for range 3 {
		if _, err := g.client.Complete(ctx, request("openai_only", "u")); err != nil {
			t.Fatalf("answer with the ledger down: %v", err)
		}
	}
	if err := g.srv.Service().Ledger().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if f := g.srv.Service().Ledger().Failures(); f != 3 {
		t.Errorf("failures counted: %d, want 3", f)
	}
	_, err := g.client.Usage(ctx, &gatewayv1.UsageRequest{})
	if s := status.Convert(err); s.Code() != codes.Unavailable || reasonOf(s) != "STORE_UNAVAILABLE" {
		t.Errorf("usage with the store down: %v", err)
	}
}
