package gateway

import (
	"io"

	"github.com/careerpath/llmgateway/providers"
)

// replayStream plays a whole answer (a cached, stale or degraded one) as a
// stream: its text in deltas, then the final chunk.
type replayStream struct {
	resp   *providers.Response
	deltas []string
	done   bool
}

// replay returns resp as a stream of deltas; nil deltas send the whole
// text at once.
func replay(resp *providers.Response, deltas []string) providers.Stream {
	if deltas == nil && resp.Text != "" {
		deltas = []string{resp.Text}
	}
	return &replayStream{resp: resp, deltas: deltas}
}

// Recv implements providers.Stream.
func (s *replayStream) Recv() (providers.Chunk, error) {
	if len(s.deltas) > 0 {
		d := s.deltas[0]
		s.deltas = s.deltas[1:]
		return providers.Chunk{Delta: d}, nil
	}
	if s.done {
		return providers.Chunk{}, io.EOF
	}
	s.done = true
	return providers.Chunk{Done: true, FinishReason: s.resp.FinishReason, Usage: s.resp.Usage,
		ID: s.resp.ID, Model: s.resp.Model}, nil
}

// Close implements providers.Stream.
func (s *replayStream) Close() error { return nil }
