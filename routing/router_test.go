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

func testRouter(t testing.TB, weights ...int) *Router {
	t.Helper()
	cfg := &config.Config{
		Providers: config.ProviderSettings{
			Providers: map[string]config.Provider{"a": {Kind: "x"}, "b": {Kind: "x"}},
			Models: []config.Model{
				{Name: "m1", Provider: "a", Price: config.Price{InputPerMTok: 1}},
				{Name: "m2", Provider: "b"},
			},
		},
		Routes: config.ABTestConfig{Routes: map[string]config.Route{}},
	}
	var variants []config.Variant
	for i, w := range weights {
		variants = append(variants, config.Variant{
			Name: fmt.Sprintf("v%d", i), Weight: w,
			Target: config.Target{Provider: []string{"a", "b"}[i%2], Model: []string{"m1", "m2"}[i%2]},
		})
	}
	cfg.Routes.Routes["r"] = config.Route{Variants: variants, Backups: []config.Target{{Provider: "b", Model: "m2"}}}
	r, err := New(cfg, map[string]providers.Provider{"a": stubProvider{"a"}, "b": stubProvider{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouteSticky(t *testing.T) {
	r := testRouter(t, 50, 50)
	for i := range 100 {
		subject := fmt.Sprintf("user-%d", i)
		first, err := r.Route("r", subject)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			again, _ := r.Route("r", subject)
			if again != first {
				t.Fatalf("subject %s moved from %s to %s", subject, first.Variant, again.Variant)
			}
		}
	}
}

func TestRouteWeights(t *testing.T) {
	r := testRouter(t, 80, 20)
	counts := map[string]int{}
	const n = 20000
	for i := range n {
		d, err := r.Route("r", fmt.Sprintf("subject-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		counts[d.Variant]++
	}
	share := float64(counts["v0"]) / n
	// 20000 draws: the standard error of the share is 0.003; 0.02 is > 6σ.
	if math.Abs(share-0.8) > 0.02 {
		t.Fatalf("v0 share = %.3f, want 0.80 (counts %v)", share, counts)
	}
}

func TestRouteZeroWeightVariantNeverChosen(t *testing.T) {
	r := testRouter(t, 0, 1)
	for i := range 1000 {
		d, _ := r.Route("r", fmt.Sprint(i))
		if d.Variant != "v1" {
			t.Fatalf("got variant %s with weight 0", d.Variant)
		}
	}
}

func TestRouteResolves(t *testing.T) {
	r := testRouter(t, 1)
	d, err := r.Route("r", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider.Name() != "a" || d.Model != "m1" || d.Price.InputPerMTok != 1 || d.Route != "r" {
		t.Fatalf("decision = %+v", d)
	}
	if len(d.Backups) != 1 || d.Backups[0].Provider.Name() != "b" {
		t.Fatalf("backups = %+v", d.Backups)
	}
	if _, err := r.Route("nope", ""); !errors.Is(err, ErrUnknownRoute) {
		t.Fatalf("unknown route: err = %v", err)
	}
	if d, err := r.Direct("b", "m2"); err != nil || d.Provider.Name() != "b" || d.Route != "" {
		t.Fatalf("Direct = %+v, %v", d, err)
	}
	if _, err := r.Direct("a", "m2"); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Direct unknown: err = %v", err)
	}
}

func BenchmarkRoute(b *testing.B) {
	r := testRouter(b, 50, 50)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Route("r", "user-12345")
	}
}

func TestStickyHashIsFNV1a(t *testing.T) {
	for _, tc := range [][2]string{{"r", "u"}, {"career_advice", "user-42"}, {"", ""}} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(tc[0] + "\x00" + tc[1]))
		if got, want := stickyHash(tc[0], tc[1]), h.Sum64(); got != want {
			t.Errorf("stickyHash(%q, %q) = %x, want %x", tc[0], tc[1], got, want)
		}
	}
}
