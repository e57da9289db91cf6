package quotagrpc

import (
	"strconv"

	"google.golang.org/grpc/metadata"

	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/quota"
)

// remainingHeaders says, per dimension, what is left of the tightest limit
// that applied, in the names OpenAI's API uses: x-ratelimit-remaining-
// requests / -tokens (per minute), -streams, -usd (budget), with the
// matching -limit- and -reset- (seconds) headers.
func remainingHeaders(rs []quota.Remaining) metadata.MD {
	if len(rs) == 0 {
		return nil
	}
	var (
		tightest [len(headerDims)]quota.Remaining
		seen     [len(headerDims)]bool
		n        int
	)
	for _, r := range rs {
		d := headerDim(r.Kind)
		if d < 0 {
			continue
		}
		if !seen[d] || r.Remaining < tightest[d].Remaining {
			if !seen[d] {
				n++
			}
			tightest[d], seen[d] = r, true
		}
	}
	// The keys are lower case already: set directly, not through
	// MD.Set, which lower-cases each. One backing array holds the value
	// slices, and one string every number.
	var (
		digits [len(headerDims) * 3 * 32]byte
		ends   [len(headerDims) * 3]int
		b      = digits[:0]
	)
	for d := range headerDims {
		if !seen[d] {
			continue
		}
		r := &tightest[d]
		b = strconv.AppendFloat(b, r.Remaining, 'f', -1, 64)
		ends[3*d] = len(b)
		b = strconv.AppendFloat(b, r.Max, 'f', -1, 64)
		ends[3*d+1] = len(b)
		if r.Reset > 0 {
			b = strconv.AppendFloat(b, r.Reset.Seconds(), 'f', 3, 64)
		}
		ends[3*d+2] = len(b)
	}
	nums := string(b)
	md := make(metadata.MD, 3*n)
	vals := make([]string, 3*n)
	start := 0
	for d, h := range headerDims {
		if !seen[d] {
			continue
		}
		vals[0], vals[1] = nums[start:ends[3*d]], nums[ends[3*d]:ends[3*d+1]]
		md[h.remaining], md[h.limit] = vals[0:1:1], vals[1:2:2]
		if ends[3*d+2] > ends[3*d+1] {
			vals[2] = nums[ends[3*d+1]:ends[3*d+2]]
			md[h.reset] = vals[2:3:3]
		}
		start = ends[3*d+2]
		vals = vals[3:]
	}
	return md
}

// headerDims are the dimensions of the rate-limit headers, each with its
// header names.
var headerDims = [...]struct{ remaining, limit, reset string }{
	{"x-ratelimit-remaining-requests", "x-ratelimit-limit-requests", "x-ratelimit-reset-requests"},
	{"x-ratelimit-remaining-tokens", "x-ratelimit-limit-tokens", "x-ratelimit-reset-tokens"},
	{"x-ratelimit-remaining-streams", "x-ratelimit-limit-streams", "x-ratelimit-reset-streams"},
	{"x-ratelimit-remaining-usd", "x-ratelimit-limit-usd", "x-ratelimit-reset-usd"},
}

// headerDim is the index in headerDims of a counter kind, -1 for none.
func headerDim(k quota.Kind) int {
	switch k {
	case quota.KindRequests:
		return 0
	case quota.KindTokens:
		return 1
	case quota.KindStreams:
		return 2
	case quota.KindUSDPerDay, quota.KindUSDPerMonth:
		return 3
	}
	return -1
}

// refusalHeaders are the rate-limit response headers of a refused
// request, which the REST shim and the compatible APIs pass on.
func refusalHeaders(ex *quota.ExceededError) metadata.MD {
	md := metadata.Pairs(
		"x-ratelimit-limit", strconv.FormatFloat(ex.Max, 'f', -1, 64),
		"x-ratelimit-remaining", strconv.FormatFloat(ex.Remaining, 'f', -1, 64),
		"x-ratelimit-scope", ex.Limit+"/"+ex.Kind.String(),
	)
	if !ex.TooLarge {
		md.Append("retry-after", gwerr.RetryAfter(ex.RetryAfter))
	}
	return md
}
