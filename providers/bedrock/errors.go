package bedrock

import (
	"context"
	"errors"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/careerpath/llmgateway/providers"
)

// exceptionKinds classifies Bedrock Runtime's exceptions.
var exceptionKinds = map[string]providers.ErrorKind{
	"ThrottlingException":           providers.KindRateLimited,
	"ServiceQuotaExceededException": providers.KindRateLimited,
	"ServiceUnavailableException":   providers.KindOverloaded,
	"ModelNotReadyException":        providers.KindOverloaded,
	"ValidationException":           providers.KindBadRequest,
	"ResourceNotFoundException":     providers.KindBadRequest,
	"ModelErrorException":           providers.KindServer,
	"AccessDeniedException":         providers.KindAuth,
	"UnrecognizedClientException":   providers.KindAuth,
	"InvalidSignatureException":     providers.KindAuth,
	"ExpiredTokenException":         providers.KindAuth,
	"ModelTimeoutException":         providers.KindTimeout,
	"InternalServerException":       providers.KindServer,
	"ModelStreamErrorException":     providers.KindServer,
}

// classify turns an SDK error into a typed error. ctx is the caller's.
func (p *Provider) classify(ctx context.Context, err error) *providers.Error {
	if ctx.Err() == nil {
		if pe, ok := p.apiError(err); ok {
			return pe
		}
	}
	var re *awshttp.ResponseError
	if ctx.Err() == nil && errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		// An answer that is not Bedrock's: a proxy's HTML page and the like.
		status := re.HTTPStatusCode()
		kind := providers.StatusKind(status)
		switch kind {
		case providers.KindRateLimited, providers.KindOverloaded, providers.KindAuth, providers.KindTimeout:
		default:
			kind = providers.KindMalformed
		}
		return &providers.Error{Kind: kind, Provider: p.name, StatusCode: status, Message: "an answer that is not Bedrock's", RetryAfter: retryAfter(re)}
	}
	return providers.TransportError(ctx, p.name, err)
}

// apiError maps a Bedrock exception, when err carries one.
func (p *Provider) apiError(err error) (*providers.Error, bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return nil, false
	}
	code := ae.ErrorCode()
	// Exceptions named in an event stream arrive in the union's camelCase.
	if code != "" {
		code = strings.ToUpper(code[:1]) + code[1:]
	}
	kind, ok := exceptionKinds[code]
	if !ok {
		return nil, false
	}
	e := &providers.Error{Kind: kind, Provider: p.name, Code: code}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.StatusCode = re.HTTPStatusCode()
		e.RetryAfter = retryAfter(re)
	}
	msg := ae.ErrorMessage()
	if kind == providers.KindBadRequest && contextLength(msg) {
		e.Kind = providers.KindContextLength
	}
	if e.Kind == providers.KindAuth {
		e.Message = "bedrock rejected the gateway's AWS credentials"
		return e, true
	}
	e.Message = msg
	e.Err = errors.New(code)
	return e, true
}

func contextLength(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "too long") || strings.Contains(m, "context length") ||
		strings.Contains(m, "context window") || strings.Contains(m, "max_tokens") && strings.Contains(m, "exceed")
}

func retryAfter(re *awshttp.ResponseError) time.Duration {
	if re.Response == nil {
		return 0
	}
	return providers.ParseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
}
