package resilience

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/careerpath/llmgateway/internal/spans"
	"github.com/careerpath/llmgateway/providers"
)

// tracer is taken from the global provider, so spans cost nothing until
// the process installs one (OpenTelemetry's no-op default).
var tracer = spans.Tracer("github.com/careerpath/llmgateway/resilience")

// Span and attribute names. GenAI attributes follow the OpenTelemetry
// semantic conventions; the rest are the gateway's own.
const (
	spanChain   = "llmgateway.failover"
	spanAttempt = "chat"

	attrRoute     = attribute.Key("llmgateway.route")
	attrStep      = attribute.Key("llmgateway.failover.step")
	attrProvider  = attribute.Key("llmgateway.provider")
	attrHedged    = attribute.Key("llmgateway.hedged")
	attrOperation = attribute.Key("gen_ai.operation.name")
	attrModel     = attribute.Key("gen_ai.request.model")
	attrErrorType = attribute.Key("error.type")
	attrGenAIProv = attribute.Key("gen_ai.provider.name")
	attrRespID    = attribute.Key("gen_ai.response.id")
	attrRespModel = attribute.Key("gen_ai.response.model")
	attrFinish    = attribute.Key("gen_ai.response.finish_reasons")
	attrInTokens  = attribute.Key("gen_ai.usage.input_tokens")
	attrOutTokens = attribute.Key("gen_ai.usage.output_tokens")
)

// startChain starts the span covering one request's trip through the chain.
func (c *Chain) startChain(ctx context.Context, stream bool) (context.Context, trace.Span) {
	if spans.Off() { // no attributes to build
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracer.Start(ctx, spanChain, trace.WithAttributes(
		attrRoute.String(c.route), attribute.Bool("llmgateway.stream", stream)))
}

// endChain records which step answered, or the failure.
func endChain(span trace.Span, ans *Answer, err error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, kindOf(err).String())
		span.SetAttributes(attrErrorType.String(kindOf(err).String()))
	} else if ans != nil {
		span.SetAttributes(attrStep.String(ans.Step.String()), attrHedged.Bool(ans.Hedged))
		if ans.Target.Provider != "" {
			span.SetAttributes(attrProvider.String(ans.Target.Provider), attrModel.String(ans.Target.Model))
		}
	}
	span.End()
}

// startAttempt starts the span of one call to a provider, so that retries,
// fallbacks and hedges each show as their own span.
func startAttempt(ctx context.Context, t Target, step Step) (context.Context, trace.Span) {
	if spans.Off() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracer.Start(ctx, spanAttempt+" "+t.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attrOperation.String("chat"), attrProvider.String(t.Provider), attrGenAIProv.String(t.Provider),
		attrModel.String(t.Model), attrStep.String(step.String())))
}

// endAttempt records an attempt's failure, or what a unary attempt
// answered (resp is nil for a stream, whose usage is known only at its
// end: the request's span carries it).
func endAttempt(span trace.Span, resp *providers.Response, err error) {
	if err == nil && resp != nil && span.IsRecording() {
		span.SetAttributes(attrRespID.String(resp.ID), attrRespModel.String(resp.Model),
			attrFinish.StringSlice([]string{string(resp.FinishReason)}),
			attrInTokens.Int64(resp.Usage.InputTokens), attrOutTokens.Int64(resp.Usage.OutputTokens))
	}
	if err != nil {
		k := kindOf(err).String()
		span.SetStatus(codes.Error, k)
		span.SetAttributes(attrErrorType.String(k))
	}
	span.End()
}
