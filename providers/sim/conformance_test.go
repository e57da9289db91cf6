package sim_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/providers"
	"github.com/careerpath/llmgateway/providers/anthropic"
	"github.com/careerpath/llmgateway/providers/openai"
	"github.com/careerpath/llmgateway/providers/providertest"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestConformance records the simulator's answers and faults in both wire
// formats and runs the provider suite on them with the backends the sim
// kind puts in front of it: whatever the simulator says must read as the
// real vendors' recorded bodies do.
func TestConformance(t *testing.T) {
	req := providertest.Request()
	system, user := req.Messages[0].Content, req.Messages[1].Content
	for _, w := range []struct {
		wire, path, idPattern string
		body                  func(stream bool) string
		build                 func(providertest.Options) (providers.Provider, error)
	}{
		{
			wire: sim.WireOpenAI, path: sim.PathChatCompletions, idPattern: `"id":"(chatcmpl-[^"]+)"`,
			body: func(stream bool) string {
				b := `{"model":"` + providertest.Model + `","messages":[{"role":"system","content":"` + system +
					`"},{"role":"user","content":"` + user + `"}],"max_completion_tokens":256`
				if stream {
					b += `,"stream":true,"stream_options":{"include_usage":true}`
				}
				return b + "}"
			},
			build: func(o providertest.Options) (providers.Provider, error) {
				return openai.New(providers.Settings{Name: "conformance", BaseURL: o.BaseURL + "/v1", APIKey: o.APIKey, Timeout: o.Timeout})
			},
		},
		{
			wire: sim.WireAnthropic, path: sim.PathMessages, idPattern: `"id":"(msg_[^"]+)"`,
			body: func(stream bool) string {
				b := `{"model":"` + providertest.Model + `","max_tokens":256,"system":"` + system +
					`","messages":[{"role":"user","content":"` + user + `"}]`
				if stream {
					b += `,"stream":true`
				}
				return b + "}"
			},
			build: func(o providertest.Options) (providers.Provider, error) {
				return anthropic.New(providers.Settings{Name: "conformance", BaseURL: o.BaseURL, APIKey: o.APIKey, Timeout: o.Timeout})
			},
		},
	} {
		t.Run(w.wire, func(t *testing.T) {
			srv, base, stop, err := sim.Start(sim.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stop)
			record := func(stream bool, f *sim.Fault) providertest.Cassette {
				t.Helper()
				srv.ClearFaults()
				if f != nil {
					if err := srv.SetFault(*f); err != nil {
						t.Fatal(err)
					}
				}
				resp, err := http.Post(base+w.path, "application/json", strings.NewReader(w.body(stream)))
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				body, _ := io.ReadAll(resp.Body) // a disconnect fault cuts it short
				h := http.Header{}
				for _, k := range []string{"Content-Type", "Retry-After"} {
					if v := resp.Header.Get(k); v != "" {
						h.Set(k, v)
					}
				}
				return providertest.Cassette{Status: resp.StatusCode, Header: h, Body: body}
			}
			id := func(c providertest.Cassette) string {
				m := regexp.MustCompile(w.idPattern).FindSubmatch(c.Body)
				if m == nil {
					t.Fatalf("no id in %s", c.Body)
				}
				return string(m[1])
			}
			// The simulator's answer is a function of the model and the
			// last user message; its prompt count is a quarter of the
			// content bytes plus 4 a message.
			want := providers.Response{
				Model:        providertest.Model,
				Text:         sim.Text(providertest.Model, user, 0, 256),
				FinishReason: providers.FinishStop,
				Usage: providers.Usage{
					InputTokens:  int64((len(system)+len(user)+3)/4 + 4*2),
					OutputTokens: sim.DefaultAnswerTokens,
				},
			}
			complete, stream := record(false, nil), record(true, nil)
			kit := providertest.Kit{
				New: func(t *testing.T, o providertest.Options) providers.Provider {
					p, err := w.build(o)
					if err != nil {
						t.Fatal(err)
					}
					return p
				},
				Path:     w.path,
				Complete: providertest.Answer{Cassette: complete, Want: want},
				Stream:   providertest.Answer{Cassette: stream, Want: want},
				Errors: map[providertest.Class]providertest.Cassette{
					providertest.RateLimited:   record(false, &sim.Fault{Status: 429, RetryAfter: "7"}),
					providertest.Overloaded:    record(false, &sim.Fault{Status: 529}),
					providertest.BadRequest:    record(false, &sim.Fault{Status: 400}),
					providertest.Auth:          record(false, &sim.Fault{Status: 401}),
					providertest.ContextLength: record(false, &sim.Fault{ContextLength: true}),
					providertest.Server:        record(false, &sim.Fault{Status: 500}),
					providertest.Malformed:     record(false, &sim.Fault{Malformed: sim.MalformedHTML}),
				},
				Truncated: record(true, &sim.Fault{DisconnectAfterTokens: 3}),
			}
			kit.Complete.Want.ID, kit.Stream.Want.ID = id(complete), id(stream)
			if bytes.Contains(kit.Truncated.Body, []byte("[DONE]")) || bytes.Contains(kit.Truncated.Body, []byte("message_stop")) {
				t.Fatalf("the disconnect fault sent the terminal event: %s", kit.Truncated.Body)
			}
			providertest.Run(t, kit)
		})
	}
}
