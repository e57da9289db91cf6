package routing

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"testing"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/providers"
)

type stubProvider struct{ name string }

func (p stubProvider) Name() string { return p.name }
func (p stubProvider) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return nil, errors.New("not used")
}
func (p stubProvider) Stream(context.Context, *providers.Request) (providers.Stream, error) {
	return nil, errors.New("not used")
}

// testConfig is a configuration with providers a and b serving m1 and m2.
func testConfig(routes map[string]config.Route) *config.Config {
	return &config.Config{
		Providers: config.ProviderSettings{
			Providers: map[string]config.Provider{"a": {Kind: "x"}, "b": {Kind: "x"}},
			Models: []config.Model{
				{Name: "m1", Provider: "a", Price: config.Price{InputPerMTok: 1}},
				{Name: "m2", Provider: "b"},
			},
		},
		Routes: config.ABTestConfig{Routes: routes, Datasets: map[string]config.Dataset{}},
	}
}

func build(t testing.TB, cfg *config.Config) *Router {
	t.Helper()
	r, err := New(cfg, map[string]providers.Provider{"a": stubProvider{"a"}, "b": stubProvider{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// variants are named v0, v1, … with the given weights.
func variants(weights ...int) []config.Variant {
	var vs []config.Variant
	for i, w := range weights {
		vs = append(vs, config.Variant{
			Name: fmt.Sprintf("v%d", i), Weight: w,
			Target: config.Target{Provider: []string{"a", "b"}[i%2], Model: []string{"m1", "m2"}[i%2]},
		})
	}
	return vs
}

// testRouter has one route "r" with variants v0, v1, … of the given
// weights and experiment exp (nil: the default).
func testRouter(t testing.TB, exp *config.Experiment, weights ...int) *Router {
	t.Helper()
	return build(t, testConfig(map[string]config.Route{"r": {
		Variants: variants(weights...), Backups: []config.Target{{Provider: "b", Model: "m2"}}, Experiment: exp,
	}}))
}

// assign maps n subjects to their variant names.
func assign(t testing.TB, r *Router, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		d, err := r.Route("r", fmt.Sprintf("subject-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = d.Variant
	}
	return out
}

func TestRouteSticky(t *testing.T) {
	r := testRouter(t, nil, 50, 50)
	first, err := r.Route("r", "user-42")
	if err != nil {
		t.Fatal(err)
	}
	for range 10000 {
		if again, _ := r.Route("r", "user-42"); again != first {
			t.Fatalf("user-42 moved from %s to %s", first.Variant, again.Variant)
		}
	}
	// A router rebuilt from the same configuration (another replica, a
	// restart) assigns the same.
	a, b := assign(t, r, 10000), assign(t, testRouter(t, nil, 50, 50), 10000)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("subject-%d: %s in one router, %s in another", i, a[i], b[i])
		}
	}
}

func TestRouteSplit(t *testing.T) {
	const n = 100000
	for _, weights := range [][]int{{50, 50}, {80, 20}, {60, 30, 10}, {1, 1, 1}, {97, 3}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			r := testRouter(t, nil, weights...)
			counts := map[string]int{}
			for _, v := range assign(t, r, n) {
				counts[v]++
			}
			total := 0
			for _, w := range weights {
				total += w
			}
			for i, w := range weights {
				want := float64(w) / float64(total)
				got := float64(counts[fmt.Sprintf("v%d", i)]) / n
				t.Logf("v%d: %.4f of subjects, weight share %.4f", i, got, want)
				if math.Abs(got-want) > 0.01 {
					t.Errorf("v%d got %.4f of %d subjects, want %.4f ± 0.01", i, got, n, want)
				}
			}
		})
	}
}

func TestBucketQuotasAreExact(t *testing.T) {
	for _, weights := range [][]int{{50, 50}, {60, 40}, {50, 50, 10}, {1, 1, 1}, {0, 3, 7}, {1, 999999}} {
		r := testRouter(t, nil, weights...)
		counts := make([]int, len(weights))
		for _, v := range r.routes["r"].table {
			counts[v]++
		}
		want := quotas(weights)
		for i := range weights {
			if counts[i] != want[i] {
				t.Errorf("weights %v: variant %d has %d buckets, want %d", weights, i, counts[i], want[i])
			}
		}
	}
	if q := quotas([]int{1, 1, 1}); q[0]+q[1]+q[2] != Buckets || q[0] != 3334 {
		t.Fatalf("quotas(1,1,1) = %v", q)
	}
}

// moved compares the assignment of n subjects under two routers and
// returns the fraction that moved and the moves by "from->to".
func moved(t *testing.T, before, after *Router, n int) (float64, map[string]int) {
	t.Helper()
	a, b := assign(t, before, n), assign(t, after, n)
	moves := map[string]int{}
	m := 0
	for i := range a {
		if a[i] != b[i] {
			m++
			moves[a[i]+"->"+b[i]]++
		}
	}
	return float64(m) / float64(n), moves
}

func TestWeightChangeMovesOnlyWhatItMust(t *testing.T) {
	const n = 100000
	exp := &config.Experiment{ID: "career_advice_2026_11", Salt: "x7"}
	tests := []struct {
		name            string
		before, after   []int
		min             float64 // the theoretical minimum fraction to move
		changed         string  // the variant whose weight changed
		maxOtherTraffic float64 // moves not into or out of changed
	}{
		{"50/50 to 60/40", []int{50, 50}, []int{60, 40}, 0.10, "v0", 0},
		{"add a third variant at 10", []int{50, 50}, []int{50, 50, 10}, 10.0 / 110, "v2", 0.01},
		{"40/40/20 to 40/40/40", []int{40, 40, 20}, []int{40, 40, 40}, 40.0/120 - 20.0/100, "v2", 0.01},
		{"ramp 90/10 to 50/50", []int{90, 10}, []int{50, 50}, 0.40, "v1", 0},
		{"remove a variant (weight 0)", []int{40, 30, 30}, []int{40, 30, 0}, 0.30, "v2", 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frac, moves := moved(t, testRouter(t, exp, tt.before...), testRouter(t, exp, tt.after...), n)
			other := 0
			for k, c := range moves {
				var from, to string
				_, _ = fmt.Sscanf(k, "%2s->%2s", &from, &to)
				if from != tt.changed && to != tt.changed {
					other += c
				}
			}
			t.Logf("moved %.4f of %d subjects (minimum %.4f); %d moved between unchanged variants; %v",
				frac, n, tt.min, other, moves)
			if math.Abs(frac-tt.min) >= 0.01 {
				t.Errorf("moved %.4f, want %.4f ± 0.01", frac, tt.min)
			}
			if float64(other)/n > tt.maxOtherTraffic {
				t.Errorf("%.4f of subjects moved between variants whose weights did not change (at most %.4f)",
					float64(other)/n, tt.maxOtherTraffic)
			}
		})
	}
}

func TestSaltAndIDReshuffle(t *testing.T) {
	const n = 100000
	base := &config.Experiment{ID: "e", Salt: "1"}
	for _, exp := range []*config.Experiment{{ID: "e", Salt: "2"}, {ID: "e2", Salt: "1"}} {
		frac, _ := moved(t, testRouter(t, base, 50, 50), testRouter(t, exp, 50, 50), n)
		t.Logf("%+v: moved %.4f", *exp, frac)
		// Independent 50/50 assignments disagree for half the subjects.
		if math.Abs(frac-0.5) > 0.02 {
			t.Errorf("%+v: moved %.4f of subjects, want about 0.5", *exp, frac)
		}
	}
	// The default experiment is the route name with no salt.
	frac, _ := moved(t, testRouter(t, nil, 50, 50), testRouter(t, &config.Experiment{ID: "r"}, 50, 50), n)
	if frac != 0 {
		t.Errorf("explicit default id moved %.4f", frac)
	}
}

func TestRouteZeroWeightVariantNeverChosen(t *testing.T) {
	r := testRouter(t, nil, 0, 1)
	for i := range 1000 {
		for _, subject := range []string{fmt.Sprint(i), ""} {
			d, _ := r.Route("r", subject)
			if d.Variant != "v1" {
				t.Fatalf("got variant %s with weight 0", d.Variant)
			}
		}
	}
}

func TestRouteWithoutSubjectIsRandomByWeight(t *testing.T) {
	r := testRouter(t, nil, 80, 20)
	counts := map[string]int{}
	const n = 20000
	for range n {
		d, err := r.Route("r", "")
		if err != nil {
			t.Fatal(err)
		}
		counts[d.Variant]++
	}
	// 20000 draws: the standard error of the share is 0.003; 0.02 is > 6σ.
	if share := float64(counts["v0"]) / n; math.Abs(share-0.8) > 0.02 {
		t.Fatalf("v0 share = %.3f, want 0.80 (counts %v)", share, counts)
	}
}

func TestSelectForce(t *testing.T) {
	r := testRouter(t, nil, 1, 0)
	tests := []struct {
		name    string
		sel     Selection
		variant string
		err     error
	}{
		{"forced, allowed", Selection{Route: "r", Subject: "u", ForceVariant: "v1", ForceAllowed: true}, "v1", nil},
		{"forced without subject", Selection{Route: "r", ForceVariant: "v0", ForceAllowed: true}, "v0", nil},
		{"not allowed", Selection{Route: "r", ForceVariant: "v1"}, "", ErrForceNotAllowed},
		{"unknown variant", Selection{Route: "r", ForceVariant: "v9", ForceAllowed: true}, "", ErrUnknownVariant},
		{"unknown variant, not allowed", Selection{Route: "r", ForceVariant: "v9"}, "", ErrForceNotAllowed},
		{"unknown route first", Selection{Route: "x", ForceVariant: "v1"}, "", ErrUnknownRoute},
		{"allowed but not forcing", Selection{Route: "r", Subject: "u", ForceAllowed: true}, "v0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := r.Select(tt.sel)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && d.Variant != tt.variant {
				t.Fatalf("variant = %s, want %s", d.Variant, tt.variant)
			}
		})
	}
}

func TestRouteResolves(t *testing.T) {
	r := testRouter(t, nil, 1)
	d, err := r.Route("r", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider.Name() != "a" || d.Model != "m1" || d.Price.InputPerMTok != 1 || d.Route != "r" {
		t.Fatalf("decision = %+v", d)
	}
	if d.Experiment != "r" || !d.Control {
		t.Fatalf("experiment = %q, control = %v", d.Experiment, d.Control)
	}
	if len(d.Backups) != 1 || d.Backups[0].Provider.Name() != "b" {
		t.Fatalf("backups = %+v", d.Backups)
	}
	if _, err := r.Route("nope", ""); !errors.Is(err, ErrUnknownRoute) {
		t.Fatalf("unknown route: err = %v", err)
	}
	if d, err := r.Direct("b", "m2"); err != nil || d.Provider.Name() != "b" || d.Route != "" || d.Experiment != "" {
		t.Fatalf("Direct = %+v, %v", d, err)
	}
	if _, err := r.Direct("a", "m2"); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Direct unknown: err = %v", err)
	}
	if len(r.Decisions()) != 3 {
		t.Fatalf("Decisions = %d, want 1 variant + 2 targets", len(r.Decisions()))
	}
}

func TestExperimentControl(t *testing.T) {
	r := testRouter(t, &config.Experiment{ID: "e", Control: "v1"}, 1, 1)
	for _, name := range []string{"v0", "v1"} {
		d, err := r.Select(Selection{Route: "r", ForceVariant: name, ForceAllowed: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Control != (name == "v1") || d.Experiment != "e" {
			t.Errorf("%s: control = %v, experiment %q", name, d.Control, d.Experiment)
		}
	}
}

func TestBucketHash(t *testing.T) {
	for _, tc := range [][3]string{{"r", "", "u"}, {"career_advice_2026_11", "x7", "user-42"}, {"", "", ""}} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(tc[0] + "\x00" + tc[1] + "\x00" + tc[2]))
		want := int(mix64(h.Sum64()) % Buckets)
		if got := Bucket(tc[0], tc[1], tc[2]); got != want {
			t.Errorf("Bucket(%q, %q, %q) = %d, want %d", tc[0], tc[1], tc[2], got, want)
		}
	}
	// Pinned values: a change here reassigns every user of every
	// experiment, which must be a deliberate decision.
	for _, tc := range []struct {
		exp, salt, subject string
		want               int
	}{
		{"career_advice", "", "user-42", 5618},
		{"career_advice_2026_11", "x7", "user-42", 7696},
	} {
		if got := Bucket(tc.exp, tc.salt, tc.subject); got != tc.want {
			t.Errorf("Bucket(%q, %q, %q) = %d, want %d", tc.exp, tc.salt, tc.subject, got, tc.want)
		}
	}
	// Separators: id "ab" + salt "c" is not id "a" + salt "bc".
	if hashParts("ab", "c", "u") == hashParts("a", "bc", "u") {
		t.Error("experiment id and salt are not separated")
	}
}

func BenchmarkRoute(b *testing.B) {
	r := testRouter(b, nil, 50, 50)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Route("r", "user-12345")
	}
}

func BenchmarkNew(b *testing.B) {
	cfg := testConfig(map[string]config.Route{"r": {Variants: variants(40, 30, 20, 10)}})
	provs := map[string]providers.Provider{"a": stubProvider{"a"}, "b": stubProvider{"b"}}
	for b.Loop() {
		if _, err := New(cfg, provs); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBucketMovementIsNearMinimal(t *testing.T) {
	names := []string{"v0", "v1", "v2"}
	tests := []struct {
		before, after []int
		max           int // buckets allowed to move
	}{
		{[]int{50, 50}, []int{60, 40}, 1000},               // exactly the minimum
		{[]int{90, 10}, []int{50, 50}, 4000},               // exactly the minimum
		{[]int{50, 50}, []int{50, 50, 10}, 909 + 100},      // minimum 909
		{[]int{40, 40, 20}, []int{40, 40, 40}, 1333 + 100}, // minimum 1333
		{[]int{25, 25, 50}, []int{25, 25, 0}, 5000 + 100},  // minimum 5000
		{[]int{1, 1, 1}, []int{1, 1, 1}, 0},                // no change, no move
		{[]int{100, 100, 100}, []int{1, 1, 1}, 0},          // same shares, no move
	}
	for _, tt := range tests {
		a := allocate("e", "s", names[:len(tt.before)], tt.before)
		b := allocate("e", "s", names[:len(tt.after)], tt.after)
		n := 0
		for i := range a {
			if a[i] != b[i] {
				n++
			}
		}
		t.Logf("%v -> %v: %d of %d buckets moved", tt.before, tt.after, n, Buckets)
		if n > tt.max {
			t.Errorf("%v -> %v: %d buckets moved, want at most %d", tt.before, tt.after, n, tt.max)
		}
	}
}
