package edge

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// localClient is the REST shim's and the compatible APIs' way into the
// service: a [gatewayv1.LLMGatewayClient] that calls it in process,
// through the same interceptor chain as a gRPC caller, without encoding a
// message. A unary call is a function call through the chained unary
// interceptor; a stream runs the chained stream interceptor on its own
// goroutine, its messages handed over by pointer. The call's outgoing
// metadata (the HTTP headers the edge forwards) becomes the server side's
// incoming metadata, and the headers and trailers the interceptors and
// the service set are given back as a gRPC client would see them.
type localClient struct {
	srv gatewayv1.LLMGatewayServer
	// The unary methods through the whole chain, built once: a call makes
	// no handler of its own.
	complete, embed, feedback, getExperiment, usage grpc.UnaryHandler
	stream                                          grpc.StreamServerInterceptor
	// running counts the streams whose server side has not returned.
	running sync.WaitGroup
}

func newLocalClient(srv gatewayv1.LLMGatewayServer, c Chain) *localClient {
	return &localClient{srv: srv,
		complete:      unaryMethod(c, srv, gatewayv1.LLMGateway_Complete_FullMethodName, srv.Complete),
		embed:         unaryMethod(c, srv, gatewayv1.LLMGateway_Embed_FullMethodName, srv.Embed),
		feedback:      unaryMethod(c, srv, gatewayv1.LLMGateway_Feedback_FullMethodName, srv.Feedback),
		getExperiment: unaryMethod(c, srv, gatewayv1.LLMGateway_GetExperiment_FullMethodName, srv.GetExperiment),
		usage:         unaryMethod(c, srv, gatewayv1.LLMGateway_Usage_FullMethodName, srv.Usage),
		stream:        c.streamInterceptor(),
	}
}

// unaryMethod is method of srv, call, behind the chain.
func unaryMethod[Req, Resp any](c Chain, srv gatewayv1.LLMGatewayServer, method string,
	call func(context.Context, *Req) (*Resp, error),
) grpc.UnaryHandler {
	return c.unaryHandler(&grpc.UnaryServerInfo{Server: srv, FullMethod: method},
		func(ctx context.Context, req any) (any, error) { return call(ctx, req.(*Req)) })
}

// wait returns once every stream's server side has returned.
func (c *localClient) wait() { c.running.Wait() }

// Complete implements gatewayv1.LLMGatewayClient.
func (c *localClient) Complete(ctx context.Context, in *gatewayv1.CompleteRequest, opts ...grpc.CallOption) (*gatewayv1.CompleteResponse, error) {
	return unaryCall[gatewayv1.CompleteResponse](ctx, gatewayv1.LLMGateway_Complete_FullMethodName, c.complete, in, opts)
}

// Embed implements gatewayv1.LLMGatewayClient.
func (c *localClient) Embed(ctx context.Context, in *gatewayv1.EmbedRequest, opts ...grpc.CallOption) (*gatewayv1.EmbedResponse, error) {
	return unaryCall[gatewayv1.EmbedResponse](ctx, gatewayv1.LLMGateway_Embed_FullMethodName, c.embed, in, opts)
}

// Feedback implements gatewayv1.LLMGatewayClient.
func (c *localClient) Feedback(ctx context.Context, in *gatewayv1.FeedbackRequest, opts ...grpc.CallOption) (*gatewayv1.FeedbackResponse, error) {
	return unaryCall[gatewayv1.FeedbackResponse](ctx, gatewayv1.LLMGateway_Feedback_FullMethodName, c.feedback, in, opts)
}

// GetExperiment implements gatewayv1.LLMGatewayClient.
func (c *localClient) GetExperiment(ctx context.Context, in *gatewayv1.GetExperimentRequest, opts ...grpc.CallOption) (*gatewayv1.GetExperimentResponse, error) {
	return unaryCall[gatewayv1.GetExperimentResponse](ctx, gatewayv1.LLMGateway_GetExperiment_FullMethodName, c.getExperiment, in, opts)
}

// Usage implements gatewayv1.LLMGatewayClient.
func (c *localClient) Usage(ctx context.Context, in *gatewayv1.UsageRequest, opts ...grpc.CallOption) (*gatewayv1.UsageResponse, error) {
	return unaryCall[gatewayv1.UsageResponse](ctx, gatewayv1.LLMGateway_Usage_FullMethodName, c.usage, in, opts)
}

// unaryCall runs one unary method, handler, through the chain.
func unaryCall[Resp any](ctx context.Context, method string, handler grpc.UnaryHandler, in any, opts []grpc.CallOption) (*Resp, error) {
	ctx, ts, span := serverContext(ctx, method, false)
	defer span.End()
	out, err := handler(ctx, in)
	ts.deliver(opts)
	endRPCSpan(span, err)
	if err != nil {
		return nil, gwerr.Err(err)
	}
	resp, _ := out.(*Resp)
	return resp, nil
}

// Stream implements gatewayv1.LLMGatewayClient.
func (c *localClient) Stream(ctx context.Context, in *gatewayv1.CompleteRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[gatewayv1.StreamResponse], error) {
	ctx, ts, span := serverContext(ctx, gatewayv1.LLMGateway_Stream_FullMethodName, true)
	cs := &localStream{ctx: ctx, req: in, ts: ts, msgs: make(chan *gatewayv1.StreamResponse, streamBuffer)}
	info := &grpc.StreamServerInfo{FullMethod: gatewayv1.LLMGateway_Stream_FullMethodName, IsServerStream: true}
	c.running.Add(1)
	go func() {
		defer c.running.Done()
		err := c.stream(c.srv, cs, info, func(srv any, ss grpc.ServerStream) error {
			// The request handed over is the caller's own: nothing to copy.
			if err := ss.RecvMsg(in); err != nil {
				return err
			}
			return srv.(gatewayv1.LLMGatewayServer).Stream(in,
				&grpc.GenericServerStream[gatewayv1.CompleteRequest, gatewayv1.StreamResponse]{ServerStream: ss})
		})
		endRPCSpan(span, err)
		span.End()
		cs.finish(err)
	}()
	return cs, nil
}

// streamBuffer is how many messages a stream's server side may run ahead
// of its reader.
const streamBuffer = 16

// serverContext is ctx as the server side of method sees it: the caller's
// outgoing metadata as incoming metadata, a transport stream that
// collects headers and trailers, and the RPC's span.
func serverContext(ctx context.Context, method string, stream bool) (context.Context, *localTransport, trace.Span) {
	md, _ := metadata.FromOutgoingContext(ctx)
	ctx = metadata.NewIncomingContext(metadata.NewOutgoingContext(ctx, nil), md)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		// A caller without a span of the edge's own (the compatible APIs)
		// forwards its traceparent as metadata, as a gRPC caller does.
		ctx = otel.GetTextMapPropagator().Extract(ctx, metadataCarrier(md))
	}
	ts := &localTransport{method: method}
	if stream {
		ts.sent = make(chan struct{}) // the client's Header waits on it
	}
	ctx = grpc.NewContextWithServerTransportStream(ctx, ts)
	ctx, span := tracer.Start(ctx, method[1:], serverSpan)
	if span.IsRecording() { // attributes cost nothing while tracing is off
		span.SetAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", gatewayv1.LLMGateway_ServiceDesc.ServiceName),
			attribute.String("rpc.method", method[strings.LastIndexByte(method, '/')+1:]))
	}
	return ctx, ts, span
}

var serverSpan = trace.WithSpanKind(trace.SpanKindServer)

// endRPCSpan records the call's gRPC status on its span.
func endRPCSpan(span trace.Span, err error) {
	if span.IsRecording() {
		span.SetAttributes(attribute.String("rpc.grpc.status_code", gwerr.CodeName(err)))
		if err != nil {
			endSpan(span, err) // ends it
		}
	}
}

// localTransport is the server side's view of an in-process call's
// transport: it keeps the headers and trailers set, for the caller.
type localTransport struct {
	method string

	mu              sync.Mutex
	header, trailer metadata.MD
	headerSent      bool
	sent            chan struct{} // a stream's: closed once the header is sent
}

// Method implements grpc.ServerTransportStream.
func (t *localTransport) Method() string { return t.method }

// SetHeader implements grpc.ServerTransportStream. The first header set
// is kept as it is, not copied: the links hand over metadata of their own
// making, as they do to grpc.SetHeader.
func (t *localTransport) SetHeader(md metadata.MD) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.headerSent {
		return errHeaderSent
	}
	if t.header == nil {
		t.header = md
	} else {
		t.header = metadata.Join(t.header, md)
	}
	return nil
}

// SendHeader implements grpc.ServerTransportStream.
func (t *localTransport) SendHeader(md metadata.MD) error {
	if err := t.SetHeader(md); err != nil {
		return err
	}
	t.send()
	return nil
}

// SetTrailer implements grpc.ServerTransportStream.
func (t *localTransport) SetTrailer(md metadata.MD) error {
	t.mu.Lock()
	t.trailer = metadata.Join(t.trailer, md)
	t.mu.Unlock()
	return nil
}

// send marks the header sent: later SetHeader calls fail, as on a real
// transport.
func (t *localTransport) send() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.headerSent {
		t.headerSent = true
		if t.sent != nil {
			close(t.sent)
		}
	}
}

// headerMD is the header as sent.
func (t *localTransport) headerMD() metadata.MD {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.header.Copy()
}

// deliver ends a unary call: the header and trailer go where the call
// options grpc.Header and grpc.Trailer ask. The call is over, so nothing
// changes them any more: the caller gets them without a copy.
func (t *localTransport) deliver(opts []grpc.CallOption) {
	t.send()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = t.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = t.trailer
		}
	}
}

// metadataCarrier reads and writes trace context in metadata.
type metadataCarrier metadata.MD

// Get implements propagation.TextMapCarrier.
func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set implements propagation.TextMapCarrier.
func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

// Keys implements propagation.TextMapCarrier.
func (c metadataCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

var errHeaderSent = errors.New("the header was already sent")

// localStream is both ends of an in-process stream: the server side the
// interceptors and the service send on, and the client side the edge
// reads.
type localStream struct {
	ctx  context.Context
	req  *gatewayv1.CompleteRequest
	ts   *localTransport
	recv bool // the request was received
	msgs chan *gatewayv1.StreamResponse
	err  error // the call's end, set before msgs is closed
}

// Context implements grpc.ServerStream and grpc.ClientStream.
func (s *localStream) Context() context.Context { return s.ctx }

// SetHeader implements grpc.ServerStream.
func (s *localStream) SetHeader(md metadata.MD) error { return s.ts.SetHeader(md) }

// SendHeader implements grpc.ServerStream.
func (s *localStream) SendHeader(md metadata.MD) error { return s.ts.SendHeader(md) }

// SetTrailer implements grpc.ServerStream.
func (s *localStream) SetTrailer(md metadata.MD) { _ = s.ts.SetTrailer(md) }

// SendMsg implements grpc.ServerStream and grpc.ClientStream. On the
// server side it hands m to the reader, which owns it from then on; the
// client side sends nothing after its one request.
func (s *localStream) SendMsg(m any) error {
	r, ok := m.(*gatewayv1.StreamResponse)
	if !ok {
		return errors.New("in-process stream: only stream responses are sent")
	}
	s.ts.send()
	select {
	case s.msgs <- r:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// RecvMsg implements grpc.ServerStream and grpc.ClientStream: the server
// side receives the one request, the client side the next response.
func (s *localStream) RecvMsg(m any) error {
	if r, ok := m.(*gatewayv1.StreamResponse); ok {
		got, err := s.Recv()
		if err != nil {
			return err
		}
		proto.Reset(r)
		proto.Merge(r, got)
		return nil
	}
	if s.recv {
		return io.EOF
	}
	s.recv = true
	if m != s.req {
		req, ok := m.(proto.Message)
		if !ok {
			return errors.New("in-process stream: the request is not a protobuf message")
		}
		proto.Reset(req)
		proto.Merge(req, s.req)
	}
	return nil
}

// finish ends the server side with err.
func (s *localStream) finish(err error) {
	s.ts.send()
	if err != nil {
		s.err = gwerr.Err(err)
	}
	close(s.msgs)
}

// Recv implements grpc.ServerStreamingClient: the next message, io.EOF
// after the last of a stream that succeeded, or the stream's status
// error.
func (s *localStream) Recv() (*gatewayv1.StreamResponse, error) {
	m, ok := <-s.msgs
	if !ok {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	return m, nil
}

// Header implements grpc.ClientStream: it waits for the header to be
// sent, with the first message or at the end of the call.
func (s *localStream) Header() (metadata.MD, error) {
	<-s.ts.sent
	return s.ts.headerMD(), nil
}

// Trailer implements grpc.ClientStream; it is complete once Recv has
// returned an error or io.EOF.
func (s *localStream) Trailer() metadata.MD {
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	return s.ts.trailer.Copy()
}

// CloseSend implements grpc.ClientStream: the one request is already
// sent.
func (s *localStream) CloseSend() error { return nil }

var (
	_ gatewayv1.LLMGatewayClient                           = (*localClient)(nil)
	_ grpc.ServerStream                                    = (*localStream)(nil)
	_ grpc.ServerStreamingClient[gatewayv1.StreamResponse] = (*localStream)(nil)
	_ grpc.ServerTransportStream                           = (*localTransport)(nil)
)
