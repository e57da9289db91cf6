package server

import (
	"io"

	"github.com/careerpath/llmgateway/providers"
)

// replayStream plays a whole answer (a cached or degraded one) as a stream:
// the text as one delta, then the final chunk.
type replayStream struct {
	resp *providers.Response
	step int
}

func replay(resp *providers.Response) providers.Stream { return &replayStream{resp: resp} }

// Recv implements providers.Stream.
func (s *replayStream) Recv() (providers.Chunk, error) {
	s.step++
	switch s.step {
	case 1:
		if s.resp.Text != "" {
			return providers.Chunk{Delta: s.resp.Text}, nil
		}
		s.step++
		fallthrough
	case 2:
		return providers.Chunk{Done: true, FinishReason: s.resp.FinishReason, Usage: s.resp.Usage,
			ID: s.resp.ID, Model: s.resp.Model}, nil
	}
	return providers.Chunk{}, io.EOF
}

// Close implements providers.Stream.
func (s *replayStream) Close() error { return nil }
