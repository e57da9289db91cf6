package experiment_test

import (
	"math"
	"testing"

	"github.com/careerpath/llmgateway/experiment"
)

func TestZTest(t *testing.T) {
	tests := []struct {
		name           string
		s1, n1, s2, n2 int64
		z, p           float64
	}{
		{
			// p₁ = .25, p₂ = .20, p̂ = 450/2000 = .225,
			// SE = √(.225 × .775 × (1/1000 + 1/1000)) = √.00034875 = .0186748,
			// z = .05 / .0186748 = 2.6774, p = erfc(2.6774/√2) = .00742.
			name: "250/1000 vs 200/1000",
			s1:   250, n1: 1000, s2: 200, n2: 1000,
			z: 2.677398, p: 0.0074196,
		},
		{
			// p₁ = .6, p₂ = .4, p̂ = 50/100 = .5,
			// SE = √(.5 × .5 × (1/50 + 1/50)) = √.01 = .1, z = .2/.1 = 2 exactly,
			// p = 2(1 − Φ(2)) = 2 × .02275 = .0455.
			name: "30/50 vs 20/50",
			s1:   30, n1: 50, s2: 20, n2: 50,
			z: 2, p: 0.0455003,
		},
		{
			// p₁ = .6, p₂ = .5, p̂ = .55, SE = √(.55 × .45 × .02) = √.00495 = .070356,
			// z = .1/.070356 = 1.4213, p = .1552: not significant.
			name: "60/100 vs 50/100",
			s1:   60, n1: 100, s2: 50, n2: 100,
			z: 1.421338, p: 0.1552185,
		},
		{
			// Unequal sizes: p₁ = .4, p₂ = .3, p̂ = 55/150 = .36667,
			// SE = √(.36667 × .63333 × (1/100 + 1/50)) = √(.232222 × .03) = .083467,
			// z = .1/.083467 = 1.1981, p = .2309.
			name: "40/100 vs 15/50",
			s1:   40, n1: 100, s2: 15, n2: 50,
			z: 1.198085, p: 0.2308841,
		},
		{
			// Swapping the sides only flips the sign of z.
			name: "200/1000 vs 250/1000",
			s1:   200, n1: 1000, s2: 250, n2: 1000,
			z: -2.677398, p: 0.0074196,
		},
		{name: "identical rates", s1: 100, n1: 500, s2: 40, n2: 200, z: 0, p: 1},
		{name: "all successes on both sides (p̂ = 1)", s1: 10, n1: 10, s2: 30, n2: 30, z: 0, p: 1},
		{name: "no successes on both sides (p̂ = 0)", s1: 0, n1: 10, s2: 0, n2: 30, z: 0, p: 1},
		{name: "one side without trials", s1: 5, n1: 10, s2: 0, n2: 0, z: 0, p: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, p := experiment.ZTest(tc.s1, tc.n1, tc.s2, tc.n2)
			if math.Abs(z-tc.z) > 1e-5 || math.Abs(p-tc.p) > 1e-6 {
				t.Errorf("ZTest = z %.7f p %.7f, want z %.7f p %.7f", z, p, tc.z, tc.p)
			}
		})
	}
	// The two-sided 5% critical value: Φ⁻¹(.975) = 1.959964.
	if _, p := experiment.ZTest(30, 50, 20, 50); p >= experiment.Alpha {
		t.Errorf("z = 2 gives p = %v, want below %v", p, experiment.Alpha)
	}
}

// exactGreater is P(X_b > X_a) for Beta posteriors with integer parameters,
// in closed form (Evan Miller, "Formulas for Bayesian A/B Testing"):
//
//	Σ_{i=0}^{α_b−1} B(α_a+i, β_a+β_b) / ((β_b+i) B(1+i, β_b) B(α_a, β_a)).
func exactGreater(a, b experiment.Beta) float64 {
	lbeta := func(x, y float64) float64 {
		lx, _ := math.Lgamma(x)
		ly, _ := math.Lgamma(y)
		lxy, _ := math.Lgamma(x + y)
		return lx + ly - lxy
	}
	var sum float64
	for i := 0.0; i < b.A; i++ {
		sum += math.Exp(lbeta(a.A+i, a.B+b.B) - math.Log(b.B+i) - lbeta(1+i, b.B) - lbeta(a.A, a.B))
	}
	return sum
}

func TestProbabilityGreater(t *testing.T) {
	tests := []struct {
		name string
		a, b experiment.Beta
		want float64
	}{
		// One success against no data: ∫₀¹ 2x · x dx = 2/3.
		{"Beta(2,1) vs Beta(1,1)", experiment.Beta{A: 2, B: 1}, experiment.Beta{A: 1, B: 1}, 2.0 / 3},
		// One success against one failure:
		// ∫₀¹ 2x · (1 − (1−x)²) dx = ∫₀¹ (4x² − 2x³) dx = 4/3 − 1/2 = 5/6.
		{"Beta(2,1) vs Beta(1,2)", experiment.Beta{A: 2, B: 1}, experiment.Beta{A: 1, B: 2}, 5.0 / 6},
		// By symmetry.
		{"identical", experiment.Posterior(10, 20), experiment.Posterior(10, 20), 0.5},
		{"mirror", experiment.Beta{A: 1, B: 2}, experiment.Beta{A: 2, B: 1}, 1.0 / 6},
		// Against the closed form.
		{"30/100 vs 20/100", experiment.Posterior(30, 70), experiment.Posterior(20, 80),
			exactGreater(experiment.Posterior(20, 80), experiment.Posterior(30, 70))},
		{"250/1000 vs 200/1000", experiment.Posterior(250, 750), experiment.Posterior(200, 800),
			exactGreater(experiment.Posterior(200, 800), experiment.Posterior(250, 750))},
		{"3/7 vs 9/30", experiment.Posterior(3, 4), experiment.Posterior(9, 21),
			exactGreater(experiment.Posterior(9, 21), experiment.Posterior(3, 4))},
		{"0/50 vs 1/50", experiment.Posterior(0, 50), experiment.Posterior(1, 49),
			exactGreater(experiment.Posterior(1, 49), experiment.Posterior(0, 50))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := experiment.ProbabilityGreater(tc.a, tc.b); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("P(a > b) = %.8f, want %.8f", got, tc.want)
			}
		})
	}
	// The 250/1000 vs 200/1000 example is 0.99628 (closed form), in line
	// with the z-test's one-sided p of .0037.
	if got := experiment.ProbabilityGreater(experiment.Posterior(250, 750), experiment.Posterior(200, 800)); math.Abs(got-0.996283) > 1e-5 {
		t.Errorf("P(250/1000 > 200/1000) = %v, want 0.996283", got)
	}
}

func TestProbabilityGreaterLargeSamples(t *testing.T) {
	// A million trials each: the posteriors are nearly normal, so
	// P(b > a) ≈ Φ((p_b − p_a) / √(var_a + var_b))
	//   = Φ(.0005 / √(.1×.9/1e6 + .1005×.8995/1e6)) = Φ(1.1768) = .8804.
	a := experiment.Posterior(100_000, 900_000)
	b := experiment.Posterior(100_500, 899_500)
	got := experiment.ProbabilityGreater(b, a)
	va := 0.1 * 0.9 / 1e6
	vb := 0.1005 * 0.8995 / 1e6
	want := 0.5 * math.Erfc(-0.0005/math.Sqrt(va+vb)/math.Sqrt2)
	if math.Abs(got-want) > 2e-3 {
		t.Errorf("P(b > a) = %v, want ≈ %v", got, want)
	}
}

func TestProbabilityToBeBest(t *testing.T) {
	// No data: every variant is equally likely to be best.
	got := experiment.ProbabilityToBeBest([]experiment.Beta{{A: 1, B: 1}, {A: 1, B: 1}, {A: 1, B: 1}})
	for i, p := range got {
		if math.Abs(p-1.0/3) > 1e-6 {
			t.Errorf("uniform variant %d: %v, want 1/3", i, p)
		}
	}
	// Two variants: the same as the pairwise probability.
	a, b := experiment.Posterior(30, 70), experiment.Posterior(20, 80)
	two := experiment.ProbabilityToBeBest([]experiment.Beta{a, b})
	if math.Abs(two[0]-exactGreater(b, a)) > 1e-6 || math.Abs(two[0]+two[1]-1) > 1e-6 {
		t.Errorf("two variants: %v, want %v and its complement", two, exactGreater(b, a))
	}
	// Several variants: the probabilities add up to 1 and follow the rates.
	ds := []experiment.Beta{
		experiment.Posterior(12, 88), experiment.Posterior(30, 70),
		experiment.Posterior(25, 75), experiment.Posterior(0, 0), experiment.Posterior(500, 1500),
	}
	got = experiment.ProbabilityToBeBest(ds)
	var sum float64
	for _, p := range got {
		sum += p
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("probabilities %v add up to %v", got, sum)
	}
	if !(got[1] > got[2] && got[2] > got[4] && got[4] > got[0]) {
		t.Errorf("probabilities %v do not follow the success rates", got)
	}
	// Beta(1,1) has no data: a real chance to be best of all.
	if got[3] < 0.2 {
		t.Errorf("the variant without data has %v", got[3])
	}
	if p := experiment.ProbabilityToBeBest([]experiment.Beta{a}); p[0] != 1 {
		t.Errorf("a single variant is best with %v", p[0])
	}
}

func TestBetaCDF(t *testing.T) {
	tests := []struct {
		b       experiment.Beta
		x, want float64
	}{
		{experiment.Beta{A: 1, B: 1}, 0.3, 0.3},                 // uniform
		{experiment.Beta{A: 2, B: 1}, 0.5, 0.25},                // x²
		{experiment.Beta{A: 1, B: 2}, 0.5, 0.75},                // 1 − (1−x)²
		{experiment.Beta{A: 2, B: 2}, 0.5, 0.5},                 // symmetric
		{experiment.Beta{A: 3, B: 2}, 0.4, 0.1792},              // 4x³ − 3x⁴ = .256 − .0768
		{experiment.Beta{A: 50, B: 50}, 0.5, 0.5},               // symmetric, continued fraction
		{experiment.Beta{A: 5, B: 3}, 0, 0},                     // edges
		{experiment.Beta{A: 5, B: 3}, 1, 1},                     //
		{experiment.Beta{A: 1, B: 1e6}, 1e-6, 1 - math.Exp(-1)}, // ≈ 1 − e^(−bx)
	}
	for _, tc := range tests {
		if got := tc.b.CDF(tc.x); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Beta(%g,%g).CDF(%g) = %v, want %v", tc.b.A, tc.b.B, tc.x, got, tc.want)
		}
	}
}

func BenchmarkProbabilityToBeBest(b *testing.B) {
	ds := []experiment.Beta{experiment.Posterior(100_000, 900_000), experiment.Posterior(100_500, 899_500), experiment.Posterior(99_000, 901_000)}
	for b.Loop() {
		experiment.ProbabilityToBeBest(ds)
	}
}

func TestWilson(t *testing.T) {
	// Reference values: the Wilson 95 % intervals of the textbook
	// formula (Newcombe 1998, method 3).
	for _, c := range []struct {
		s, n   int64
		lo, hi float64
	}{
		{50, 100, 0.40383, 0.59617},
		{0, 10, 0, 0.27753},
		{9, 10, 0.59585, 0.98212},
		{1, 1000, 0.00018, 0.00564},
	} {
		lo, hi := experiment.Wilson(c.s, c.n, experiment.Alpha)
		if math.Abs(lo-c.lo) > 5e-5 || math.Abs(hi-c.hi) > 5e-5 {
			t.Errorf("experiment.Wilson(%d, %d) = [%.5f, %.5f], want [%.5f, %.5f]", c.s, c.n, lo, hi, c.lo, c.hi)
		}
	}
	if lo, hi := experiment.Wilson(0, 0, experiment.Alpha); lo != 0 || hi != 1 {
		t.Errorf("experiment.Wilson(0, 0) = [%v, %v], want [0, 1]", lo, hi)
	}
}

func TestSampleSize(t *testing.T) {
	// Reference values of the textbook formula (Fleiss), e.g. 0.5 vs
	// 0.52 at alpha 0.05 and power 0.8 needs 9806 per group.
	for _, c := range []struct {
		p1, p2 float64
		want   int64
	}{
		{0.50, 0.52, 9806},
		{0.80, 0.82, 6039},
		{0.10, 0.20, 199},
	} {
		if got := experiment.SampleSize(c.p1, c.p2, experiment.Alpha, experiment.Power); got != c.want {
			t.Errorf("experiment.SampleSize(%v, %v) = %d, want %d", c.p1, c.p2, got, c.want)
		}
	}
	if got := experiment.SampleSize(0.5, 0.5, experiment.Alpha, experiment.Power); got != math.MaxInt64 {
		t.Errorf("SampleSize of equal rates = %d, want MaxInt64", got)
	}
	// The test it plans for finds such a difference at that size: the
	// expected z of the difference exceeds the critical value.
	n := experiment.SampleSize(0.5, 0.52, experiment.Alpha, experiment.Power)
	if z, _ := experiment.ZTest(int64(0.52*float64(n)), n, int64(0.5*float64(n)), n); z < 1.96 {
		t.Errorf("at n = %d the expected z = %.3f does not reach 1.96", n, z)
	}
}
