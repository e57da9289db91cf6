package console

import (
	"math"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	"github.com/careerpath/llmgateway/experiment"
)

// sums adds up buckets.
type sums struct {
	requests, errors, cacheHits, cacheable, inTok, outTok, cost int64
	failed, retries, hedges, hedgesWon                          int64
	steps                                                       [len(stepNames)]int64
	codes                                                       [numCodes]int64
	lat, ttft                                                   [latBuckets]int64
}

func (s *sums) addBucket(b *bucket) {
	s.requests += b.requests.Load()
	s.errors += b.errors.Load()
	s.cacheHits += b.cacheHits.Load()
	s.cacheable += b.cacheable.Load()
	s.inTok += b.inTok.Load()
	s.outTok += b.outTok.Load()
	s.cost += b.cost.Load()
	s.failed += b.failed.Load()
	s.retries += b.retries.Load()
	s.hedges += b.hedges.Load()
	s.hedgesWon += b.hedgesWon.Load()
	for i := range s.steps {
		s.steps[i] += b.steps[i].Load()
	}
	for i := range s.codes {
		s.codes[i] += b.codes[i].Load()
	}
	for i := range s.lat {
		s.lat[i] += b.lat[i].Load()
		s.ttft[i] += b.ttft[i].Load()
	}
}

func (s *sums) add(o *sums) {
	s.requests += o.requests
	s.errors += o.errors
	s.cacheHits += o.cacheHits
	s.cacheable += o.cacheable
	s.inTok += o.inTok
	s.outTok += o.outTok
	s.cost += o.cost
	s.failed += o.failed
	s.retries += o.retries
	s.hedges += o.hedges
	s.hedgesWon += o.hedgesWon
	for i := range s.steps {
		s.steps[i] += o.steps[i]
	}
	for i := range s.codes {
		s.codes[i] += o.codes[i]
	}
	for i := range s.lat {
		s.lat[i] += o.lat[i]
		s.ttft[i] += o.ttft[i]
	}
}

// quantile estimates the q-quantile of a latency histogram in
// milliseconds by linear interpolation inside the bucket holding it; NaN
// when it is empty.
func quantile(h *[latBuckets]int64, q float64) float64 {
	d, ok := experiment.QuantileOf(h[:], latBounds[:], q)
	if !ok {
		return math.NaN()
	}
	return msOf(d)
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ratio is a / b, NaN when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// codeName is a gRPC code's canonical name (OK, UNAVAILABLE, …).
func codeName(c codes.Code) string {
	if n, ok := code.Code_name[int32(c)]; ok {
		return n
	}
	return c.String()
}
