package routing

import (
	"math"
	"slices"
	"strconv"
)

// Buckets is the number of assignment buckets of an experiment.
const Buckets = 10000

// maxCalibrationSweeps bounds the quota calibration; it converges in a
// few sweeps in practice.
const maxCalibrationSweeps = 200

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv1a continues an FNV-1a 64 hash h over s.
func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// mix64 is the MurmurHash3 64-bit finalizer: it spreads FNV-1a's weak low
// bits over the whole word.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashParts is mix64(FNV-1a-64(parts joined by zero bytes)).
func hashParts(parts ...string) uint64 {
	h := uint64(fnvOffset)
	for i, p := range parts {
		if i > 0 {
			h *= fnvPrime // a zero byte: h ^ 0 == h
		}
		h = fnv1a(h, p)
	}
	return mix64(h)
}

// Bucket is the assignment bucket, 0 to [Buckets]-1, of subject in the
// experiment with id and salt: mix64(FNV-1a-64(id, 0, salt, 0, subject))
// mod Buckets. It is stable across processes, replicas and releases.
func Bucket(experiment, salt, subject string) int {
	return int(hashParts(experiment, salt, subject) % Buckets)
}

// uniform is U(b, v) in (0, 1): from the top 53 bits of
// mix64(FNV-1a-64(id, 0, salt, 0, decimal b, 0, variant)).
func uniform(experiment, salt string, bucket int, variant string) float64 {
	h := hashParts(experiment, salt, strconv.Itoa(bucket), variant)
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// quotas splits [Buckets] between weights in proportion, by largest
// remainder (ties to the earlier variant), in integers only.
func quotas(weights []int) []int {
	total := 0
	for _, w := range weights {
		total += max(w, 0)
	}
	q := make([]int, len(weights))
	if total == 0 {
		return q
	}
	rem := make([]int, len(weights))
	left := Buckets
	for i, w := range weights {
		w = max(w, 0)
		q[i] = w * Buckets / total
		rem[i] = w * Buckets % total
		left -= q[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b] - rem[a] })
	for _, i := range order[:left] {
		q[i]++
	}
	return q
}

// allocate assigns every bucket of an experiment to a variant, returning
// the variant index of each bucket; see the package documentation.
func allocate(experiment, salt string, names []string, weights []int) []uint16 {
	q := quotas(weights)
	var active []int // variants with a quota
	for i := range q {
		if q[i] > 0 {
			active = append(active, i)
		}
	}
	table := make([]uint16, Buckets)
	if len(active) == 1 {
		for b := range table {
			table[b] = uint16(active[0])
		}
		return table
	}
	k := len(active)
	// score[b*k+j] = log(w_j / E_j(b)) with E = -ln U: the weighted
	// rendezvous score, argmax of which is plain weighted rendezvous.
	score := make([]float64, Buckets*k)
	for b := range Buckets {
		for j, v := range active {
			e := -math.Log(uniform(experiment, salt, b, names[v]))
			score[b*k+j] = float64(math.Log(float64(weights[v]))) - float64(math.Log(e))
		}
	}
	offset := make([]float64, k)
	assign := func() []int {
		counts := make([]int, k)
		for b := range Buckets {
			best := bestOf(score[b*k:(b+1)*k], offset, -1)
			table[b] = uint16(active[best])
			counts[best]++
		}
		return counts
	}
	counts := assign()
	threshold := make([]float64, Buckets)
	for range maxCalibrationSweeps {
		done := true
		for j, v := range active {
			if counts[j] != q[v] {
				done = false
			}
		}
		if done {
			break
		}
		// Gauss-Seidel: give each variant in turn the offset that makes it
		// win exactly its quota against the others' current offsets.
		for j, v := range active {
			for b := range Buckets {
				row := score[b*k : (b+1)*k]
				o := bestOf(row, offset, j)
				// bucket b goes to j iff offset[j] > threshold[b]
				threshold[b] = float64(row[o]+offset[o]) - row[j]
			}
			sorted := slices.Clone(threshold)
			slices.Sort(sorted)
			n := q[v]
			offset[j] = float64(sorted[n-1]+sorted[n]) / 2
		}
		counts = assign()
	}
	return table
}

// bestOf is the index j (other than skip) maximising row[j]+offset[j];
// ties go to the lower index.
func bestOf(row, offset []float64, skip int) int {
	best, bestScore := -1, math.Inf(-1)
	for j := range row {
		if j == skip {
			continue
		}
		if s := float64(row[j] + offset[j]); best < 0 || s > bestScore {
			best, bestScore = j, s
		}
	}
	return best
}
