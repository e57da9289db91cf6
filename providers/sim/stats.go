package sim

import "sync/atomic"

// Paths that are not wire paths of a vendor format.
const (
	pathModels    = "/v1/models"
	pathHealth    = "/healthz"
	controlPrefix = "/_sim/"
)

// Stats counts what the simulator has served since it started or since
// [Server.ResetStats].
type Stats struct {
	// Requests counts requests by path: the wire paths, "/v1/models",
	// "/healthz", "/_sim" for the control endpoints and "other".
	Requests map[string]int64 `json:"requests"`
	// Streams counts answers sent as a stream.
	Streams int64 `json:"streams"`
	// FaultsInjected counts requests a fault applied to.
	FaultsInjected int64 `json:"faults_injected"`
	// FaultsByKind splits FaultsInjected by effect: "status",
	// "context_length", "hang", "disconnect", "malformed",
	// "insufficient_quota".
	FaultsByKind map[string]int64 `json:"faults_by_kind"`
	// InFlight is the number of wire requests being answered now,
	// including hanging ones.
	InFlight int64 `json:"in_flight"`
}

// counters are the live atomics behind Stats.
type counters struct {
	chat, messages, models, health, control, other atomic.Int64
	embeddings                                     atomic.Int64
	streams                                        atomic.Int64
	faults                                         [numFaultKinds]atomic.Int64
	inFlight                                       atomic.Int64
}

// Stats returns a snapshot of the counters. Counters are read one by one,
// so a snapshot taken under load is not a single instant.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		Requests: map[string]int64{
			PathChatCompletions: c.chat.Load(),
			PathMessages:        c.messages.Load(),
			PathEmbeddings:      c.embeddings.Load(),
			pathModels:          c.models.Load(),
			pathHealth:          c.health.Load(),
			"/_sim":             c.control.Load(),
			"other":             c.other.Load(),
		},
		Streams:      c.streams.Load(),
		FaultsByKind: make(map[string]int64, numFaultKinds),
		InFlight:     c.inFlight.Load(),
	}
	for k := range numFaultKinds {
		n := c.faults[k].Load()
		st.FaultsByKind[faultKindNames[k]] = n
		st.FaultsInjected += n
	}
	return st
}

// ResetStats sets every counter except InFlight to zero.
func (s *Server) ResetStats() {
	c := &s.stats
	for _, a := range []*atomic.Int64{&c.chat, &c.messages, &c.models, &c.health, &c.control, &c.other, &c.streams} {
		a.Store(0)
	}
	for k := range numFaultKinds {
		c.faults[k].Store(0)
	}
}
