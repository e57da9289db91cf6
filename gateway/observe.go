package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/auth"
	"github.com/careerpath/llmgateway/console"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/routing"
	"github.com/careerpath/llmgateway/telemetry"
	ledger "github.com/careerpath/llmgateway/usage"
)

// callRecord is what the service notes about a request while serving it
// that its response does not say: the routing decision, the configured
// model that answered, whether the answer cache applied and what a cache
// hit saved. The observing interceptor reads it once the call is done.
type callRecord struct {
	client          string // the authenticated client's configured name
	route, variant  string
	provider, model string
	requestModel    string // the model routing chose
	cacheable       bool
	saved           ledger.Nanos
}

type callRecordKey struct{}

// recordOf returns the call's record, or nil outside an observed call.
func recordOf(ctx context.Context) *callRecord {
	r, _ := ctx.Value(callRecordKey{}).(*callRecord)
	return r
}

// noteDecision records where routing sent the request.
func noteDecision(ctx context.Context, d *routing.Decision) {
	if r := recordOf(ctx); r != nil {
		r.route, r.variant, r.model, r.requestModel = d.Route, d.Variant, d.Model, d.Model
		if d.Provider != nil {
			r.provider = d.Provider.Name()
		}
	}
}

// noteAnswer records who answered and, for a cache hit, what it saved.
func noteAnswer(ctx context.Context, a accounting, saved ledger.Nanos) {
	if r := recordOf(ctx); r != nil {
		r.provider, r.model, r.saved = a.provider, a.model, saved
	}
}

// NoteClient records, for the call's access line, the client
// authentication found in ctx.
func NoteClient(ctx context.Context) {
	if r := recordOf(ctx); r != nil {
		if c, ok := auth.FromContext(ctx); ok {
			r.client = c.Name
		}
	}
}

// noteCacheable records that the request's answer may come from the cache.
func noteCacheable(ctx context.Context) {
	if r := recordOf(ctx); r != nil {
		r.cacheable = true
	}
}

// observer emits, once per RPC, everything the gateway reports about it:
// the access log line, the request metrics and the GenAI attributes of the
// RPC's span. It is the chain's "logging" link: it sees every call,
// refused ones included, with its final status.
type observer struct {
	log        *slog.Logger
	metrics    *telemetry.Metrics // nil: no metrics
	knownRoute func(string) bool
	// content records prompts and answers on the RPC's span.
	content bool
	console *console.Console // nil: no console
}

// observation is one call as the observer saw it.
type observation struct {
	rpc   string
	start time.Time
	rec   callRecord
	req   *gatewayv1.CompleteRequest
	resp  *gatewayv1.CompleteResponse
	// embedReq and embed are an Embed call's request and response.
	embedReq *gatewayv1.EmbedRequest
	embed    *gatewayv1.EmbedResponse
	final    *gatewayv1.StreamResponse
	text     strings.Builder // a stream's answer, when content is recorded
	err      error
}

func (o *observer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ob := &observation{rpc: methodName(info.FullMethod), start: time.Now()}
	ob.req, _ = req.(*gatewayv1.CompleteRequest)
	ob.embedReq, _ = req.(*gatewayv1.EmbedRequest)
	resp, err := h(context.WithValue(ctx, callRecordKey{}, &ob.rec), req)
	ob.resp, _ = resp.(*gatewayv1.CompleteResponse)
	ob.embed, _ = resp.(*gatewayv1.EmbedResponse)
	ob.err = err
	o.finish(ctx, ob)
	return resp, err
}

func (o *observer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ob := &observation{rpc: methodName(info.FullMethod), start: time.Now()}
	os := &observedStream{ServerStream: ss, ob: ob, content: o.content,
		ctx: context.WithValue(ss.Context(), callRecordKey{}, &ob.rec)}
	ob.err = h(srv, os)
	o.finish(ss.Context(), ob)
	return ob.err
}

// observedStream keeps a stream's request and final message for the
// observer.
type observedStream struct {
	grpc.ServerStream
	ctx     context.Context
	ob      *observation
	content bool
}

// Context implements grpc.ServerStream: the handler sees the call record.
func (s *observedStream) Context() context.Context { return s.ctx }

// RecvMsg implements grpc.ServerStream.
func (s *observedStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if r, ok := m.(*gatewayv1.CompleteRequest); ok && err == nil && s.ob.req == nil {
		s.ob.req = r
	}
	return err
}

// SendMsg implements grpc.ServerStream.
func (s *observedStream) SendMsg(m any) error {
	if r, ok := m.(*gatewayv1.StreamResponse); ok {
		if r.GetDone() {
			s.ob.final = r
		} else if s.content {
			s.ob.text.WriteString(r.GetDelta())
		}
	}
	return s.ServerStream.SendMsg(m)
}

// finish reports a finished call.
func (o *observer) finish(ctx context.Context, ob *observation) {
	took := time.Since(ob.start)
	code := status.Code(ob.err)
	rec := ob.rec
	if rec.route == "" && ob.req != nil && o.knownRoute != nil && o.knownRoute(ob.req.GetRoute()) {
		// Refused before routing (quota, validation): the route is still
		// one of the configuration's, so a bounded label.
		rec.route = ob.req.GetRoute()
	}
	if rec.route == "" && ob.embedReq != nil && o.knownRoute != nil && o.knownRoute(ob.embedReq.GetRoute()) {
		rec.route = ob.embedReq.GetRoute()
	}
	op := telemetry.OperationChat
	if ob.embedReq != nil {
		op = telemetry.OperationEmbeddings
	}
	a := answerOf(ob)
	if o.metrics != nil {
		o.metrics.ObserveRequest(&telemetry.Request{
			RPC: ob.rpc, Route: rec.route, Variant: rec.variant, Provider: rec.provider, Model: rec.model,
			Status: gwerr.CodeName(ob.err), Generation: ob.req != nil || ob.embedReq != nil, Operation: op,
			Duration: took, TTFT: a.ttft,
			Answered: a.ok, Overhead: a.overhead, Fresh: a.servedFrom == gatewayv1.ServedFrom_SERVED_FROM_FRESH,
			InputTokens: int64(a.usage.GetInputTokens()), OutputTokens: int64(a.usage.GetOutputTokens()),
			CostUSD: a.cost, SavedUSD: rec.saved.USD(),
		})
	}
	o.toConsole(ob, &rec, &a, code, took)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() && ob.req != nil {
		o.annotate(span, ob, &rec, &a)
	}
	lvl := slog.Level(logging.DefaultServerCodeToLevel(code))
	if !o.log.Enabled(ctx, lvl) {
		return
	}
	attrs := make([]slog.Attr, 0, 24)
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	attrs = append(attrs, slog.String("rpc", ob.rpc), slog.String("status", gwerr.CodeName(ob.err)))
	if rec.client != "" {
		attrs = append(attrs, slog.String("client", rec.client))
	}
	if ob.req != nil {
		provider, model := a.provider, a.model // the model as the provider reported it
		if !a.ok {
			provider, model = rec.provider, rec.model // where routing sent it
		}
		attrs = append(attrs, slog.Any("request", requestLog{ob.req}),
			slog.String("route", rec.route), slog.String("variant", rec.variant),
			slog.String("provider", provider), slog.String("model", model),
			slog.Int("input_tokens", int(a.usage.GetInputTokens())), slog.Int("output_tokens", int(a.usage.GetOutputTokens())),
			slog.Float64("cost_usd", a.cost), slog.Int64("cost_nano_usd", a.costNanos), slog.String("cache", cacheStatus(&rec, &a)), slog.String("step", a.step),
			slog.Int("failed_attempts", a.failed))
	}
	if ob.embedReq != nil {
		provider, model := a.provider, a.model
		if !a.ok {
			provider, model = rec.provider, rec.model
		}
		attrs = append(attrs, slog.Int("inputs", len(ob.embedReq.GetInputs())),
			slog.String("route", rec.route), slog.String("variant", rec.variant),
			slog.String("provider", provider), slog.String("model", model),
			slog.Int("input_tokens", int(a.usage.GetInputTokens())),
			slog.Float64("cost_usd", a.cost), slog.Int64("cost_nano_usd", a.costNanos), slog.String("step", a.step),
			slog.Int("failed_attempts", a.failed))
	}
	attrs = append(attrs, slog.Float64("latency_ms", ms(took)))
	if a.ok {
		attrs = append(attrs, slog.Float64("overhead_ms", ms(a.overhead)), slog.Float64("upstream_ms", ms(a.upstream)))
		if a.ttft > 0 {
			attrs = append(attrs, slog.Float64("ttft_ms", ms(a.ttft)))
		}
	}
	if ob.err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(ob.err).Message()))
	}
	o.log.LogAttrs(ctx, lvl, "request", attrs...)
}

// answer is the account of an answered request, from its response or its
// stream's final message.
type answer struct {
	ok                       bool
	provider, model, step    string
	usage                    *gatewayv1.Usage
	cost                     float64
	costNanos                int64
	servedFrom               gatewayv1.ServedFrom
	overhead, upstream, ttft time.Duration
	failed                   int
	id                       string
	finish                   gatewayv1.FinishReason
	text                     string
}

func answerOf(ob *observation) answer {
	switch {
	case ob.err != nil:
		return answer{}
	case ob.resp != nil:
		r := ob.resp
		return answer{ok: true, provider: r.GetProvider(), model: r.GetModel(), step: stepName(r.GetStep()),
			usage: r.GetUsage(), cost: r.GetCostUsd(), costNanos: r.GetCostNanoUsd(), servedFrom: r.GetServedFrom(),
			overhead: r.GetGatewayOverhead().AsDuration(), upstream: r.GetUpstreamLatency().AsDuration(),
			failed: len(r.GetFailedAttempts()), id: r.GetId(), finish: r.GetFinishReason(), text: r.GetText()}
	case ob.embed != nil:
		r := ob.embed
		return answer{ok: true, provider: r.GetProvider(), model: r.GetModel(), step: stepName(r.GetStep()),
			usage: r.GetUsage(), cost: r.GetCostUsd(), costNanos: r.GetCostNanoUsd(),
			servedFrom: gatewayv1.ServedFrom_SERVED_FROM_FRESH,
			overhead:   r.GetGatewayOverhead().AsDuration(), upstream: r.GetUpstreamLatency().AsDuration(),
			failed: len(r.GetFailedAttempts())}
	case ob.final != nil:
		f := ob.final
		return answer{ok: true, provider: f.GetProvider(), model: f.GetModel(), step: stepName(f.GetStep()),
			usage: f.GetUsage(), cost: f.GetCostUsd(), costNanos: f.GetCostNanoUsd(), servedFrom: f.GetServedFrom(),
			overhead: f.GetGatewayOverhead().AsDuration(), upstream: f.GetUpstreamLatency().AsDuration(),
			ttft: f.GetTimeToFirstToken().AsDuration(), failed: len(f.GetFailedAttempts()),
			id: f.GetId(), finish: f.GetFinishReason(), text: ob.text.String()}
	}
	return answer{}
}

// cacheStatus is how the answer cache served the request: hit, stale
// (served past its TTL after every provider failed), miss, or off (the
// request was not cacheable).
func cacheStatus(rec *callRecord, a *answer) string {
	switch {
	case a.servedFrom == gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT:
		return "hit"
	case a.servedFrom == gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE:
		return "stale"
	case rec.cacheable:
		return "miss"
	}
	return "off"
}

// GenAI span attributes, as the OpenTelemetry semantic conventions name
// them, and the gateway's own.
var (
	attrOperation  = attribute.Key("gen_ai.operation.name")
	attrProvider   = attribute.Key("gen_ai.provider.name")
	attrReqModel   = attribute.Key("gen_ai.request.model")
	attrRespModel  = attribute.Key("gen_ai.response.model")
	attrRespID     = attribute.Key("gen_ai.response.id")
	attrFinish     = attribute.Key("gen_ai.response.finish_reasons")
	attrInTokens   = attribute.Key("gen_ai.usage.input_tokens")
	attrOutTokens  = attribute.Key("gen_ai.usage.output_tokens")
	attrInputMsgs  = attribute.Key("gen_ai.input.messages")
	attrOutputMsgs = attribute.Key("gen_ai.output.messages")
	attrRoute      = attribute.Key("llmgateway.route")
	attrVariant    = attribute.Key("llmgateway.variant")
	attrStep       = attribute.Key("llmgateway.step")
	attrCache      = attribute.Key("llmgateway.cache")
	attrCost       = attribute.Key("llmgateway.cost_usd")
	attrErrorType  = attribute.Key("error.type")
)

// annotate puts the request's GenAI attributes on the RPC's span. Prompt
// and answer text only when the operator enabled it.
func (o *observer) annotate(span trace.Span, ob *observation, rec *callRecord, a *answer) {
	span.SetAttributes(attrOperation.String(telemetry.OperationChat), attrRoute.String(rec.route),
		attrVariant.String(rec.variant), attrReqModel.String(rec.requestModel), attrProvider.String(rec.provider),
		attrCache.String(cacheStatus(rec, a)))
	if a.ok {
		span.SetAttributes(attrProvider.String(a.provider), attrRespModel.String(a.model), attrRespID.String(a.id),
			attrFinish.StringSlice([]string{finishName(a.finish)}),
			attrInTokens.Int64(int64(a.usage.GetInputTokens())), attrOutTokens.Int64(int64(a.usage.GetOutputTokens())),
			attrStep.String(a.step), attrCost.Float64(a.cost))
	}
	if !o.content {
		return
	}
	type part struct {
		Type    string `json:"type"`
		Content string `json:"content"`
	}
	type message struct {
		Role  string `json:"role"`
		Parts []part `json:"parts"`
	}
	in := make([]message, 0, len(ob.req.GetMessages()))
	for _, m := range ob.req.GetMessages() {
		in = append(in, message{Role: string(protoconv.Role(m.GetRole())), Parts: []part{{"text", m.GetContent()}}})
	}
	if b, err := json.Marshal(in); err == nil {
		span.SetAttributes(attrInputMsgs.String(string(b)))
	}
	if a.ok {
		if b, err := json.Marshal([]message{{Role: "assistant", Parts: []part{{"text", a.text}}}}); err == nil {
			span.SetAttributes(attrOutputMsgs.String(string(b)))
		}
	}
}

// requestLog is how a request appears in logs: its shape, never its
// content. The messages' text, variables, caller tags and subject are left
// out by construction, whatever the log level.
type requestLog struct{ r *gatewayv1.CompleteRequest }

// LogValue implements slog.LogValuer.
func (l requestLog) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs, slog.Int("messages", len(l.r.GetMessages())))
	if m := l.r.GetModel(); m != nil {
		attrs = append(attrs, slog.String("direct_provider", m.GetProvider()), slog.String("direct_model", m.GetModel()))
	}
	if p := l.r.GetParams(); p != nil && p.MaxTokens != nil {
		attrs = append(attrs, slog.Int("max_tokens", int(p.GetMaxTokens())))
	}
	if v := l.r.GetForceVariant(); v != "" {
		attrs = append(attrs, slog.String("force_variant", v))
	}
	return slog.GroupValue(attrs...)
}

// methodName is the last element of a full gRPC method name.
func methodName(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

func stepName(s gatewayv1.FailoverStep) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "FAILOVER_STEP_"))
}

func finishName(f gatewayv1.FinishReason) string {
	return strings.ToLower(strings.TrimPrefix(f.String(), "FINISH_REASON_"))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
