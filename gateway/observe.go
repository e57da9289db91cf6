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
	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/telemetry"
	ledger "github.com/careerpath/llmgateway/usage"
)

// observationKey carries the observer's record of a call in the call's
// context, where the auth link notes the client and the service's fan-out
// hands over the call's [Outcome].
type observationKey struct{}

// observationOf returns the call's observation, or nil outside an
// observed call.
func observationOf(ctx context.Context) *observation {
	ob, _ := ctx.Value(observationKey{}).(*observation)
	return ob
}

// NoteClient records, for the call's access line, the client
// authentication found in ctx; refused calls are reported with it too.
func NoteClient(ctx context.Context) {
	if ob := observationOf(ctx); ob != nil {
		if c, ok := auth.FromContext(ctx); ok {
			ob.client = c.Name
		}
	}
}

// observed is the fan-out's last subscriber: it hands the outcome to the
// observer of the call, which reports it once the call has ended.
type observed struct{}

// Outcome implements [Subscriber].
func (observed) Outcome(ctx context.Context, o *Outcome) {
	if ob := observationOf(ctx); ob != nil {
		ob.outcome = o
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

// observation is one call as the observer saw it: its request, the
// outcome the service published for it, and its final status.
type observation struct {
	rpc     string
	start   time.Time
	client  string // the authenticated client's configured name
	req     *gatewayv1.CompleteRequest
	embed   *gatewayv1.EmbedRequest // an Embed call's request
	outcome *Outcome                // nil for a call the service did not take on
	text    strings.Builder         // the answer, when content is recorded
	err     error
}

func (o *observer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ob := &observation{rpc: methodName(info.FullMethod), start: time.Now()}
	ob.req, _ = req.(*gatewayv1.CompleteRequest)
	ob.embed, _ = req.(*gatewayv1.EmbedRequest)
	resp, err := h(context.WithValue(ctx, observationKey{}, ob), req)
	if r, ok := resp.(*gatewayv1.CompleteResponse); ok && o.content {
		ob.text.WriteString(r.GetText())
	}
	ob.err = err
	o.finish(ctx, ob)
	return resp, err
}

func (o *observer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ob := &observation{rpc: methodName(info.FullMethod), start: time.Now()}
	os := &observedStream{ServerStream: ss, ob: ob, content: o.content,
		ctx: context.WithValue(ss.Context(), observationKey{}, ob)}
	ob.err = h(srv, os)
	o.finish(ss.Context(), ob)
	return ob.err
}

// observedStream keeps a stream's request, and its answer's text when
// content is recorded, for the observer.
type observedStream struct {
	grpc.ServerStream
	ctx     context.Context
	ob      *observation
	content bool
}

// Context implements grpc.ServerStream: the handler sees the observation.
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
	if r, ok := m.(*gatewayv1.StreamResponse); ok && s.content {
		s.ob.text.WriteString(r.GetDelta())
	}
	return s.ServerStream.SendMsg(m)
}

// labels are the bounded names a call is reported under: the configured
// provider and model that answered it, or where routing sent it.
type labels struct {
	route, variant, provider, model string
	requestModel                    string // the model routing chose
}

// labels names ob's call. A call refused before routing (quota,
// validation) keeps its route when the route is one of the
// configuration's, so the label stays bounded.
func (ob *observation) labels(knownRoute func(string) bool) labels {
	var l labels
	if oc := ob.outcome; oc != nil && oc.Decision != nil {
		d := oc.Decision
		l = labels{route: d.Route, variant: d.Variant, model: d.Model, requestModel: d.Model}
		if d.Provider != nil {
			l.provider = d.Provider.Name()
		}
		if ob.answered() != nil {
			l.provider, l.model = oc.Target.Provider, oc.Target.Model
		}
	} else if ob.req != nil && knownRoute != nil && knownRoute(ob.req.GetRoute()) {
		l.route = ob.req.GetRoute()
	} else if ob.embed != nil && knownRoute != nil && knownRoute(ob.embed.GetRoute()) {
		l.route = ob.embed.GetRoute()
	}
	return l
}

// answered is the call's outcome when the call was answered and its
// answer reached the caller, else nil. An Embed call's answer has no id.
func (ob *observation) answered() *Outcome {
	if ob.err != nil || ob.outcome == nil || !ob.outcome.Answered() || (ob.outcome.ResponseID == "" && ob.outcome.Embed == nil) {
		return nil
	}
	return ob.outcome
}

// cache is how the answer cache served the call: hit, stale (served past
// its TTL after every provider failed), miss, or off (the request was not
// cacheable).
func (ob *observation) cache() string {
	oc := ob.outcome
	switch {
	case oc == nil:
		return "off"
	case ob.answered() != nil && oc.ServedFrom == gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT:
		return "hit"
	case ob.answered() != nil && oc.ServedFrom == gatewayv1.ServedFrom_SERVED_FROM_STALE_CACHE:
		return "stale"
	case oc.Cacheable:
		return "miss"
	}
	return "off"
}

// finish reports a finished call.
func (o *observer) finish(ctx context.Context, ob *observation) {
	took := time.Since(ob.start)
	code := status.Code(ob.err)
	l := ob.labels(o.knownRoute)
	a := ob.answered()
	if o.metrics != nil {
		r := &telemetry.Request{RPC: ob.rpc, Route: l.route, Variant: l.variant, Provider: l.provider, Model: l.model,
			Status: gwerr.CodeName(ob.err), Generation: ob.req != nil || ob.embed != nil, Duration: took}
		if ob.embed != nil {
			r.Operation = telemetry.OperationEmbeddings
		}
		if a != nil {
			r.Answered, r.TTFT, r.Overhead = true, a.TTFT, a.Overhead
			r.Fresh = a.ServedFrom == gatewayv1.ServedFrom_SERVED_FROM_FRESH
			r.InputTokens, r.OutputTokens = a.Usage.InputTokens, a.Usage.OutputTokens
			r.CostUSD, r.SavedUSD = a.Cost.USD(), a.Saved.USD()
		}
		o.metrics.ObserveRequest(r)
	}
	o.toConsole(ob, &l, code, took)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() && ob.req != nil {
		o.annotate(span, ob, &l)
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
	if ob.client != "" {
		attrs = append(attrs, slog.String("client", ob.client))
	}
	if ob.req != nil || ob.embed != nil {
		attrs = ob.callAttrs(attrs, &l, a)
	}
	attrs = append(attrs, slog.Float64("latency_ms", ms(took)))
	if a != nil {
		attrs = append(attrs, slog.Float64("overhead_ms", ms(a.Overhead)), slog.Float64("upstream_ms", ms(a.Upstream)))
		if a.TTFT > 0 {
			attrs = append(attrs, slog.Float64("ttft_ms", ms(a.TTFT)))
		}
	}
	if ob.err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(ob.err).Message()))
	}
	o.log.LogAttrs(ctx, lvl, "request", attrs...)
}

// callAttrs appends a generation or Embed call's access-line attributes
// to attrs: the request's shape (never its text), where it went, and what
// it used and cost. An Embed call has inputs in place of the request, and
// neither output tokens nor a cache.
func (ob *observation) callAttrs(attrs []slog.Attr, l *labels, a *Outcome) []slog.Attr {
	provider, model := l.provider, l.model // where routing sent it
	var (
		usage  providers.Usage
		cost   ledger.Nanos
		step   string
		failed int
	)
	if a != nil {
		provider, model = a.Provider, a.Model // the model as the provider reported it
		usage, cost, step, failed = a.Usage, a.Cost, stepName(a.Step), len(a.Attempts)
	}
	if ob.req != nil {
		attrs = append(attrs, slog.Any("request", requestLog{ob.req}))
	} else {
		attrs = append(attrs, slog.Int("inputs", len(ob.embed.GetInputs())))
	}
	attrs = append(attrs, slog.String("route", l.route), slog.String("variant", l.variant),
		slog.String("provider", provider), slog.String("model", model), slog.Int64("input_tokens", usage.InputTokens))
	if ob.req != nil {
		attrs = append(attrs, slog.Int64("output_tokens", usage.OutputTokens))
	}
	attrs = append(attrs, slog.Float64("cost_usd", cost.USD()), slog.Int64("cost_nano_usd", int64(cost)))
	if ob.req != nil {
		attrs = append(attrs, slog.String("cache", ob.cache()))
	}
	return append(attrs, slog.String("step", step), slog.Int("failed_attempts", failed))
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
func (o *observer) annotate(span trace.Span, ob *observation, l *labels) {
	span.SetAttributes(attrOperation.String(telemetry.OperationChat), attrRoute.String(l.route),
		attrVariant.String(l.variant), attrReqModel.String(l.requestModel), attrProvider.String(l.provider),
		attrCache.String(ob.cache()))
	a := ob.answered()
	if a != nil {
		span.SetAttributes(attrProvider.String(a.Provider), attrRespModel.String(a.Model), attrRespID.String(a.ResponseID),
			attrFinish.StringSlice([]string{finishName(protoconv.FinishReason(a.Finish))}),
			attrInTokens.Int64(a.Usage.InputTokens), attrOutTokens.Int64(a.Usage.OutputTokens),
			attrStep.String(stepName(a.Step)), attrCost.Float64(a.Cost.USD()))
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
	if a != nil {
		if b, err := json.Marshal([]message{{Role: "assistant", Parts: []part{{"text", ob.text.String()}}}}); err == nil {
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
