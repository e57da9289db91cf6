package experiment

import "math"

// Alpha is the significance level of the z-test.
const Alpha = 0.05

// ZTest is the two-proportion z-test of s1 successes in n1 trials against
// s2 in n2, with the pooled standard error
//
//	p̂ = (s1 + s2) / (n1 + n2),  SE = √(p̂(1 − p̂)(1/n1 + 1/n2)),
//	z = (s1/n1 − s2/n2) / SE,    p = erfc(|z| / √2)  (two-sided).
//
// When either side has no trials, or the pooled rate is 0 or 1 (so both
// rates are equal), there is no evidence of a difference: z = 0, p = 1.
func ZTest(s1, n1, s2, n2 int64) (z, p float64) {
	if n1 <= 0 || n2 <= 0 {
		return 0, 1
	}
	p1 := float64(s1) / float64(n1)
	p2 := float64(s2) / float64(n2)
	pooled := float64(s1+s2) / float64(n1+n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 || math.IsNaN(se) {
		return 0, 1
	}
	z = (p1 - p2) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// Beta is a Beta(A, B) distribution, here the posterior of a success rate
// after A−1 successes and B−1 failures under a uniform prior. A and B must
// be at least 1.
type Beta struct{ A, B float64 }

// Posterior is the Beta(1 + successes, 1 + failures) posterior of a
// success rate.
func Posterior(successes, failures int64) Beta {
	return Beta{A: 1 + float64(max(successes, 0)), B: 1 + float64(max(failures, 0))}
}

// Mean is the distribution's mean, A / (A + B).
func (b Beta) Mean() float64 { return b.A / (b.A + b.B) }

func (b Beta) sd() float64 {
	s := b.A + b.B
	return math.Sqrt(b.A * b.B / (s * s * (s + 1)))
}

// window is the interval of ±20 standard deviations around the mean,
// clamped to [0, 1]: the mass outside it is negligible (below 1e-9 even for
// the most skewed posteriors, whose tails are exponential).
func (b Beta) window() (lo, hi float64) {
	m, d := b.Mean(), 20*b.sd()
	return math.Max(0, m-d), math.Min(1, m+d)
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// PDF is the density at x.
func (b Beta) PDF(x float64) float64 {
	if x < 0 || x > 1 {
		return 0
	}
	l := -lbeta(b.A, b.B)
	if b.A != 1 {
		l += (b.A - 1) * math.Log(x)
	}
	if b.B != 1 {
		l += (b.B - 1) * math.Log1p(-x)
	}
	return math.Exp(l)
}

// CDF is P(X ≤ x), the regularized incomplete beta function I_x(A, B).
func (b Beta) CDF(x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	// The continued fraction converges fast for x below the mean-ish
	// point (A+1)/(A+B+2); above it use I_x(a, b) = 1 − I_{1−x}(b, a).
	if x > (b.A+1)/(b.A+b.B+2) {
		return 1 - Beta{A: b.B, B: b.A}.CDF(1-x)
	}
	front := math.Exp(b.A*math.Log(x) + b.B*math.Log1p(-x) - lbeta(b.A, b.B))
	return math.Min(1, front*betaCF(b.A, b.B, x)/b.A)
}

// betaCF evaluates the continued fraction of the incomplete beta function
// by the modified Lentz method (Numerical Recipes, betacf).
func betaCF(a, b, x float64) float64 {
	const (
		eps   = 1e-14
		tiny  = 1e-300
		maxIt = 100000
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIt; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// simpsonPanels is the number of Simpson panels per integral: with the
// ±20 SD window a panel is 1/100 of a standard deviation wide.
const simpsonPanels = 4096

// ProbabilityToBeBest returns, for each distribution, the probability that
// a draw from it is larger than draws from all the others:
//
//	P(i best) = ∫₀¹ pdf_i(x) ∏_{j≠i} cdf_j(x) dx,
//
// integrated by the composite Simpson rule over pdf_i's ±20 SD window. The
// result is deterministic; the probabilities add up to 1 within 1e-6.
func ProbabilityToBeBest(ds []Beta) []float64 {
	out := make([]float64, len(ds))
	if len(ds) == 1 {
		out[0] = 1
		return out
	}
	type win struct{ lo, hi float64 }
	wins := make([]win, len(ds))
	for i, d := range ds {
		wins[i].lo, wins[i].hi = d.window()
	}
	for i, di := range ds {
		lo, hi := wins[i].lo, wins[i].hi
		h := (hi - lo) / simpsonPanels
		var sum float64
		for k := 0; k <= simpsonPanels; k++ {
			x := lo + float64(k)*h
			f := di.PDF(x)
			for j, dj := range ds {
				if j == i || f == 0 {
					continue
				}
				switch {
				case x <= wins[j].lo:
					f = 0 // dj is almost surely above x
				case x >= wins[j].hi:
					// dj is almost surely below x: factor 1
				default:
					f *= dj.CDF(x)
				}
			}
			switch {
			case k == 0 || k == simpsonPanels:
				sum += f
			case k%2 == 1:
				sum += 4 * f
			default:
				sum += 2 * f
			}
		}
		out[i] = math.Max(0, math.Min(1, sum*h/3))
	}
	return out
}

// ProbabilityGreater is P(X_a > X_b) for independent a and b: the
// two-distribution case of [ProbabilityToBeBest].
func ProbabilityGreater(a, b Beta) float64 {
	return ProbabilityToBeBest([]Beta{a, b})[0]
}

// Power is the chance of detecting a true difference that [SampleSize]
// plans for.
const Power = 0.8

// zOf is the standard normal quantile of q (0 < q < 1).
func zOf(q float64) float64 { return math.Sqrt2 * math.Erfinv(2*q-1) }

// Wilson is the Wilson score interval of a success rate with s successes
// in n trials, at the two-sided level 1 − alpha (alpha = [Alpha]: a 95 %
// interval). With no trials it is [0, 1].
func Wilson(s, n int64, alpha float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	z := zOf(1 - alpha/2)
	p := float64(s) / float64(n)
	fn := float64(n)
	den := 1 + z*z/fn
	mid := (p + z*z/(2*fn)) / den
	half := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / den
	return math.Max(0, mid-half), math.Min(1, mid+half)
}

// SampleSize is how many trials each of two variants needs for the
// two-sided two-proportion z-test at level alpha to detect, with
// probability power, the difference between success rates p1 and p2:
//
//	n = (z₁₋α/₂ √(2p̄(1 − p̄)) + z_power √(p1(1 − p1) + p2(1 − p2)))² / (p1 − p2)²
//
// with p̄ = (p1 + p2) / 2, rounded up. Rates are clamped to [0.001, 0.999];
// equal rates need no finite sample, reported as math.MaxInt64.
func SampleSize(p1, p2, alpha, power float64) int64 {
	clamp := func(p float64) float64 { return math.Max(0.001, math.Min(0.999, p)) }
	p1, p2 = clamp(p1), clamp(p2)
	d := p1 - p2
	if d == 0 {
		return math.MaxInt64
	}
	pb := (p1 + p2) / 2
	a := zOf(1-alpha/2) * math.Sqrt(2*pb*(1-pb))
	b := zOf(power) * math.Sqrt(p1*(1-p1)+p2*(1-p2))
	return int64(math.Ceil((a + b) * (a + b) / (d * d)))
}
