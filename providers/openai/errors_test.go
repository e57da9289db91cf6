package openai_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

func TestHTTPErrors(t *testing.T) {
	vllmContext := `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`
	tests := []struct {
		name        string
		status      int
		file        string // testdata file; body is used when empty
		body        string
		contentType string
		header      map[string]string
		wantKind    providers.ErrorKind
		wantCode    string
		wantRetry   [2]time.Duration // inclusive range
		wantMsg     string
		notMsg      []string // must not appear in err.Error()
	}{
		{name: "400 invalid_request_error", status: 400, file: "error_invalid_request.json",
			wantKind: providers.KindBadRequest, wantCode: "invalid_value", wantMsg: "Invalid value for 'temperature'"},
		{name: "400 context_length_exceeded", status: 400, file: "error_context_length.json",
			wantKind: providers.KindContextLength, wantCode: "context_length_exceeded", wantMsg: "maximum context length is 128000"},
		{name: "400 vLLM context length", status: 400, body: vllmContext,
			wantKind: providers.KindContextLength, wantCode: "400", wantMsg: "maximum context length is 4096"},
		{name: "401 invalid key", status: 401, file: "error_invalid_api_key.json",
			wantKind: providers.KindAuth, wantCode: "invalid_api_key", wantMsg: "provider rejected the gateway's credentials",
			notMsg: []string{"Incorrect API key", "sk-test"}},
		{name: "401 html", status: 401, body: "<html><title>Unauthorized " + testKey + "</title></html>", contentType: "text/html",
			wantKind: providers.KindAuth, wantMsg: "provider rejected the gateway's credentials", notMsg: []string{"Unauthorized", "sk-test"}},
		{name: "403 forbidden", status: 403, file: "error_forbidden.json",
			wantKind: providers.KindAuth, wantCode: "unsupported_country_region_territory", wantMsg: "provider rejected the gateway's credentials",
			notMsg: []string{"Country"}},
		{name: "404 model_not_found", status: 404, file: "error_model_not_found.json",
			wantKind: providers.KindBadRequest, wantCode: "model_not_found", wantMsg: "gpt-9-turbo"},
		{name: "429 Retry-After seconds", status: 429, file: "error_rate_limit.json", header: map[string]string{"Retry-After": "20"},
			wantKind: providers.KindRateLimited, wantCode: "rate_limit_exceeded", wantRetry: [2]time.Duration{20 * time.Second, 20 * time.Second}, wantMsg: "Rate limit reached"},
		{name: "429 Retry-After HTTP date", status: 429, file: "error_rate_limit.json",
			header:   map[string]string{"Retry-After": time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)},
			wantKind: providers.KindRateLimited, wantCode: "rate_limit_exceeded", wantRetry: [2]time.Duration{25 * time.Second, 31 * time.Second}},
		{name: "429 retry-after-ms wins", status: 429, file: "error_rate_limit.json", header: map[string]string{"Retry-After": "1", "retry-after-ms": "403"},
			wantKind: providers.KindRateLimited, wantCode: "rate_limit_exceeded", wantRetry: [2]time.Duration{403 * time.Millisecond, 403 * time.Millisecond}},
		{name: "429 insufficient_quota", status: 429, body: `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			wantKind: providers.KindQuotaExhausted, wantCode: "insufficient_quota", wantMsg: "exceeded your current quota"},
		{name: "500 server_error", status: 500, file: "error_server.json",
			wantKind: providers.KindServer, wantCode: "server_error", wantMsg: "The server had an error"},
		{name: "503 overloaded", status: 503, file: "error_overloaded.json", header: map[string]string{"Retry-After": "2"},
			wantKind: providers.KindOverloaded, wantCode: "server_error", wantRetry: [2]time.Duration{2 * time.Second, 2 * time.Second}, wantMsg: "overloaded"},
		{name: "529 overloaded", status: 529, file: "error_529.json",
			wantKind: providers.KindOverloaded, wantCode: "overloaded", wantMsg: "Overloaded"},
		{name: "502 html page", status: 502, file: "bad_gateway.html", contentType: "text/html",
			wantKind: providers.KindMalformed, wantMsg: `error response is not JSON: "502 Bad Gateway"`},
		{name: "503 html page keeps overloaded", status: 503, body: "<html><body>Service Temporarily Unavailable</body></html>", contentType: "text/html",
			header: map[string]string{"Retry-After": "5"}, wantKind: providers.KindOverloaded, wantRetry: [2]time.Duration{5 * time.Second, 5 * time.Second}},
		{name: "504 html page keeps timeout", status: 504, body: "<html><head><title>504 Gateway Time-out</title></head></html>", contentType: "text/html",
			wantKind: providers.KindTimeout, wantMsg: "504 Gateway Time-out"},
		{name: "200 garbage", status: 200, file: "garbage.txt", contentType: "application/json",
			wantKind: providers.KindMalformed, wantMsg: "upstream connect error"},
		{name: "200 html", status: 200, file: "bad_gateway.html", contentType: "text/html",
			wantKind: providers.KindMalformed, wantMsg: "502 Bad Gateway"},
		{name: "200 empty choices", status: 200, file: "chat_completion_empty_choices.json", contentType: "application/json",
			wantKind: providers.KindMalformed, wantMsg: "no choices"},
		{name: "200 error object", status: 200, file: "error_server.json", contentType: "application/json",
			wantKind: providers.KindServer, wantCode: "server_error", wantMsg: "The server had an error"},
		{name: "200 null", status: 200, body: "null", contentType: "application/json",
			wantKind: providers.KindMalformed, wantMsg: "no choices"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"complete", "stream"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				body := []byte(tt.body)
				if tt.file != "" {
					body = testdata(t, tt.file)
				}
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				srv := newServer(t, recorded{status: tt.status, contentType: ct, header: tt.header, body: body})
				p := build(t, settings(srv))
				ctx := ctxTimeout(t, 10*time.Second)
				var err error
				if mode == "complete" {
					_, err = p.Complete(ctx, userRequest("hi"))
				} else {
					var s providers.Stream
					s, err = p.Stream(ctx, userRequest("hi"))
					if err == nil {
						_ = s.Close()
						t.Fatal("Stream succeeded")
					}
				}
				pe := errorOfKind(t, err, tt.wantKind)
				if pe.StatusCode != tt.status {
					t.Errorf("StatusCode = %d, want %d", pe.StatusCode, tt.status)
				}
				if pe.Code != tt.wantCode {
					t.Errorf("Code = %q, want %q", pe.Code, tt.wantCode)
				}
				if pe.RetryAfter < tt.wantRetry[0] || pe.RetryAfter > tt.wantRetry[1] {
					t.Errorf("RetryAfter = %v, want %v..%v", pe.RetryAfter, tt.wantRetry[0], tt.wantRetry[1])
				}
				if !strings.Contains(pe.Message, tt.wantMsg) {
					t.Errorf("Message = %q, want it to contain %q", pe.Message, tt.wantMsg)
				}
				if len(pe.Message) > 300 {
					t.Errorf("Message is %d bytes, want a short excerpt: %q", len(pe.Message), pe.Message)
				}
				for _, s := range tt.notMsg {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q contains %q", err.Error(), s)
					}
				}
				if pe.Kind == providers.KindAuth && pe.Message != "provider rejected the gateway's credentials" {
					t.Errorf("auth Message = %q, want the generic message", pe.Message)
				}
			})
		}
	}
}
