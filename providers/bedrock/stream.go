package bedrock

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

	"github.com/careerpath/llmgateway/providers"
)

// Stream sends one ConverseStream request.
func (p *Provider) Stream(ctx context.Context, req *providers.Request) (providers.Stream, error) {
	in, err := p.converseInput(req)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	var timer *time.Timer
	if p.timeout > 0 {
		timer = time.AfterFunc(p.timeout, cancel)
	}
	out, err := p.client.ConverseStream(sctx, &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, System: in.System,
		InferenceConfig: in.InferenceConfig, ToolConfig: in.ToolConfig,
		AdditionalModelRequestFields: in.AdditionalModelRequestFields,
	}, ownProtocol)
	if timer != nil && !timer.Stop() && ctx.Err() == nil {
		cancel()
		if err == nil {
			_ = out.GetStream().Close()
		}
		return nil, &providers.Error{Kind: providers.KindTimeout, Provider: p.name, Message: "no answer within the attempt timeout", Err: context.DeadlineExceeded}
	}
	if err != nil {
		cancel()
		return nil, p.classify(ctx, err)
	}
	s := &stream{p: p, ctx: ctx, cancel: cancel, es: out.GetStream(), model: req.Model, jsonAnswer: req.ResponseFormat.Type != providers.FormatText}
	s.id, _ = middleware.GetRequestIDMetadata(out.ResultMetadata)
	return s, nil
}

// ownProtocol gives one stream a protocol of its own. The SDK's client
// shares one event-stream codec, whose decoder and payload buffer are not
// safe for concurrent use, among every stream read through it: overlapping
// streams would read each other's events.
func ownProtocol(o *bedrockruntime.Options) { o.Protocol = restjson1.New(nil) }

// stream maps ConverseStream events to chunks.
type stream struct {
	p          *Provider
	ctx        context.Context // the caller's, to tell its giving up from a failure
	cancel     context.CancelFunc
	es         *bedrockruntime.ConverseStreamEventStream
	model, id  string
	jsonAnswer bool

	stop      *types.StopReason
	toolIndex map[int32]int // content block index -> tool call index
	done      bool
	closeOnce sync.Once
}

// Recv returns the next chunk.
func (s *stream) Recv() (providers.Chunk, error) {
	if s.done {
		return providers.Chunk{}, io.EOF
	}
	for ev := range s.es.Events() {
		switch ev := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			tu, ok := ev.Value.Start.(*types.ContentBlockStartMemberToolUse)
			if !ok || s.jsonAnswer {
				continue
			}
			if s.toolIndex == nil {
				s.toolIndex = map[int32]int{}
			}
			i := len(s.toolIndex)
			s.toolIndex[deref(ev.Value.ContentBlockIndex)] = i
			return providers.Chunk{ToolCall: &providers.ToolCallDelta{Index: i, ID: deref(tu.Value.ToolUseId), Name: deref(tu.Value.Name)}}, nil
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := ev.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				if d.Value != "" {
					return providers.Chunk{Delta: d.Value}, nil
				}
			case *types.ContentBlockDeltaMemberReasoningContent:
				if td, ok := thinkingDelta(d.Value); ok {
					return providers.Chunk{Thinking: td}, nil
				}
			case *types.ContentBlockDeltaMemberToolUse:
				frag := deref(d.Value.Input)
				if frag == "" {
					continue
				}
				if s.jsonAnswer {
					return providers.Chunk{Delta: frag}, nil
				}
				i, ok := s.toolIndex[deref(ev.Value.ContentBlockIndex)]
				if !ok {
					return providers.Chunk{}, providers.Errorf(providers.KindMalformed, s.p.name, "a tool input delta for a block that did not start")
				}
				return providers.Chunk{ToolCall: &providers.ToolCallDelta{Index: i, Arguments: frag}}, nil
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			r := ev.Value.StopReason
			s.stop = &r
		case *types.ConverseStreamOutputMemberMetadata:
			if s.stop == nil {
				continue
			}
			s.done = true
			return providers.Chunk{
				Done: true, FinishReason: finish(*s.stop, s.jsonAnswer),
				Usage: usage(ev.Value.Usage), ID: s.id, Model: s.model,
			}, nil
		}
	}
	if err := s.es.Err(); err != nil {
		if s.ctx.Err() == nil {
			if pe, ok := s.p.apiError(err); ok {
				return providers.Chunk{}, pe
			}
		}
		e := s.p.classify(s.ctx, err)
		if e.Kind == providers.KindUnavailable {
			e.Kind = providers.KindTruncated
		}
		return providers.Chunk{}, e
	}
	if s.ctx.Err() != nil {
		return providers.Chunk{}, &providers.Error{Kind: providers.KindCanceled, Provider: s.p.name, Message: "stream canceled", Err: s.ctx.Err()}
	}
	return providers.Chunk{}, providers.Errorf(providers.KindTruncated, s.p.name, "the stream ended without messageStop and metadata")
}

// Close releases the stream.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		_ = s.es.Close()
		s.cancel()
	})
	return nil
}
