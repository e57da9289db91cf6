package bedrock_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/bedrock"
	"github.com/careerpath/llmgateway/providers/providertest"
	wire "github.com/careerpath/llmgateway/wire/bedrock"
)

// AccessKeyID is the static access key the tests sign with; the suite's
// key is the secret, which must never show.
const AccessKeyID = "AKIDCONFORMANCE"

// TestConformance runs the provider suite from the bodies recorded in
// testdata, signed with static credentials against the fake vendor.
func TestConformance(t *testing.T) {
	kit := Kit(t)
	kit.New = func(t *testing.T, o providertest.Options) providers.Provider {
		return newProvider(t, o.BaseURL, o.APIKey, o.Timeout)
	}
	providertest.Run(t, kit)
}

// newProvider builds a provider against baseURL with static credentials
// from the environment, as a deployment would have them.
func newProvider(t *testing.T, baseURL, secret string, timeout time.Duration) *bedrock.Provider {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	s := providers.Settings{Name: "conformance", Kind: bedrock.Kind, BaseURL: baseURL, Timeout: timeout, Options: json.RawMessage(`{"region":"us-east-1"}`)}
	p, err := bedrock.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// events reads a recorded list of stream events.
func events(t *testing.T, name string) []wire.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var evs []wire.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return evs
}

// eventStream frames events with the SDK's encoder into a cassette.
func eventStream(t *testing.T, evs []wire.Event) providertest.Cassette {
	t.Helper()
	var buf bytes.Buffer
	if err := wire.Encode(&buf, evs); err != nil {
		t.Fatal(err)
	}
	return providertest.Cassette{Header: http.Header{"Content-Type": {wire.ContentType}, "X-Amzn-Requestid": {"5b0c6e5e-stream"}}, Body: buf.Bytes()}
}

// exception is a recorded Bedrock error reply.
func exception(t *testing.T, status int, typ, name string) providertest.Cassette {
	c := providertest.Load(t, "testdata", status, name)
	c.Header = http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {typ + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}}
	return c
}

// Kit is the Converse cassettes and what the backend must make of them.
func Kit(t *testing.T) providertest.Kit {
	complete := providertest.Load(t, "testdata", 200, "converse.json")
	complete.Header = http.Header{"Content-Type": {"application/json"}, "X-Amzn-Requestid": {"5b0c6e5e-converse"}}
	stream := events(t, "stream.json")
	usage := func(out int64) providers.Usage {
		return providers.Usage{InputTokens: 21 + 1024 + 188, OutputTokens: out, CachedInputTokens: 1024, CacheCreationInputTokens: 188}
	}
	return providertest.Kit{
		Path:       "/model/" + providertest.Model + "/converse",
		StreamPath: "/model/" + providertest.Model + "/converse-stream",
		CheckRequest: func(t *testing.T, r providertest.Sent, isStream bool) {
			path := "/model/" + providertest.Model + "/converse"
			if isStream {
				path += "-stream"
			}
			if r.Method != http.MethodPost || r.Path != path {
				t.Errorf("request %s %s, want POST %s", r.Method, r.Path, path)
			}
			auth := r.Header.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+AccessKeyID+"/") || !strings.Contains(auth, "/us-east-1/bedrock/aws4_request") {
				t.Errorf("the request is not SigV4-signed for bedrock in us-east-1: %q", auth)
			}
			var body struct {
				Messages []struct {
					Role    string           `json:"role"`
					Content []map[string]any `json:"content"`
				} `json:"messages"`
				System          []map[string]any `json:"system"`
				InferenceConfig struct {
					MaxTokens int `json:"maxTokens"`
				} `json:"inferenceConfig"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("request body is not JSON: %v: %s", err, r.Body)
			}
			if len(body.System) != 1 || body.System[0]["text"] != "You are a career coach." ||
				len(body.Messages) != 1 || body.Messages[0].Role != "user" || body.InferenceConfig.MaxTokens != 256 {
				t.Errorf("request body %s", r.Body)
			}
		},
		Complete: providertest.Answer{
			Cassette: complete,
			Want: providers.Response{
				ID: "5b0c6e5e-converse", Model: providertest.Model,
				Text: "A strong next step toward a data engineering role is to build one end-to-end pipeline project: " +
					"ingest a public dataset, model it in a warehouse, and schedule it with an orchestrator.",
				FinishReason: providers.FinishStop, Usage: usage(42),
			},
		},
		Stream: providertest.Answer{
			Cassette: eventStream(t, stream),
			Want: providers.Response{
				ID: "5b0c6e5e-stream", Model: providertest.Model,
				Text:         "Build one end-to-end pipeline project, then write about it.",
				FinishReason: providers.FinishStop, Usage: usage(15),
			},
		},
		Errors: map[providertest.Class]providertest.Cassette{
			providertest.RateLimited:   exception(t, 429, "ThrottlingException", "errors/throttling.json"),
			providertest.Overloaded:    exception(t, 503, "ServiceUnavailableException", "errors/service_unavailable.json"),
			providertest.BadRequest:    exception(t, 400, "ValidationException", "errors/validation.json"),
			providertest.Auth:          exception(t, 403, "AccessDeniedException", "errors/access_denied.json"),
			providertest.ContextLength: exception(t, 400, "ValidationException", "errors/too_long.json"),
			providertest.Server:        exception(t, 500, "InternalServerException", "errors/internal_server.json"),
			providertest.Malformed:     providertest.Load(t, "testdata", 502, "errors/bad_gateway.html"),
		},
		Truncated:   eventStream(t, stream[:len(stream)-2]),
		StreamError: eventStream(t, events(t, "stream_error.json")),
	}
}
