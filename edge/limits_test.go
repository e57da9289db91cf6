package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// TestLimitsOverGRPCAndREST checks the -max-messages, -max-tokens and
// -max-request-bytes ceilings on every entry point: gRPC Complete and
// Stream answer InvalidArgument naming the field, REST 400.
func TestLimitsOverGRPCAndREST(t *testing.T) {
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes},
		edge.Options{Limits: edge.Limits{MaxRequestBytes: 16 << 10, MaxMessages: 3, MaxTokens: 100}})
	withMessages := func(n int, tokens int32) *gatewayv1.CompleteRequest {
		r := request("openai_only", "")
		r.Messages = userMessages(n)
		r.Params.MaxTokens = proto.Int32(tokens)
		return r
	}
	big := withMessages(1, 10)
	big.Messages[0].Content = strings.Repeat("x", 17<<10)
	tests := []struct {
		name  string
		req   *gatewayv1.CompleteRequest
		field string // empty: accepted
	}{
		{"at the ceilings", withMessages(3, 100), ""},
		{"one message too many", withMessages(4, 100), "messages"},
		{"max_tokens over the ceiling", withMessages(1, 101), "params.max_tokens"},
		{"request too large", big, "request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.client.Complete(ctxT(t), tt.req)
			checkViolation(t, "Complete", err, tt.field)
			st, err := g.client.Stream(ctxT(t), tt.req)
			for err == nil {
				_, err = st.Recv()
			}
			if errors.Is(err, io.EOF) {
				err = nil
			}
			checkViolation(t, "Stream", err, tt.field)

			body, _ := marshalJSON(tt.req)
			for _, path := range []string{"/v1/complete", "/v1/stream"} {
				resp, err := http.Post("http://"+g.httpAddr+path, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				want := http.StatusOK
				if tt.field != "" {
					want = http.StatusBadRequest
				}
				if resp.StatusCode != want || (tt.field != "" && !strings.Contains(string(b), tt.field)) {
					t.Fatalf("REST %s: %d %s, want %d naming %q", path, resp.StatusCode, b, want, tt.field)
				}
			}
		})
	}
}

func checkViolation(t *testing.T, what string, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: %v, want InvalidArgument", what, err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 && br.FieldViolations[0].Field == field {
			return
		}
	}
	t.Fatalf("%s: details %v do not name %q", what, st.Details(), field)
}

// closedWithin reports whether the server closes c (a read returns EOF or
// a reset) within d, while feed keeps writing to it.
func closedWithin(t *testing.T, c net.Conn, d time.Duration, feed func() error) bool {
	t.Helper()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c) // returns when the server closes
		close(closed)
	}()
	deadline := time.After(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return true
		case <-deadline:
			_ = c.Close()
			<-closed
			return false
		case <-tick.C:
			if feed != nil && feed() != nil {
				<-closed
				return true
			}
		}
	}
}

// TestSlowHTTPClientsAreCutOff opens REST connections that dribble their
// headers, never finish their body, or sit idle: the HTTP server's
// timeouts close each of them.
func TestSlowHTTPClientsAreCutOff(t *testing.T) {
	g := startGatewayOpts(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders, config.ABTestConfigFile: testRoutes},
		edge.Options{HTTPTimeouts: edge.HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Idle: 400 * time.Millisecond}})
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := new(net.Dialer).DialContext(context.Background(), "tcp", g.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	t.Run("headers byte by byte", func(t *testing.T) {
		c := dial(t)
		header := []byte("POST /v1/complete HTTP/1.1\r\nHost: gateway\r\nX-Padding: " + strings.Repeat("a", 1000))
		i := 0
		if !closedWithin(t, c, 3*time.Second, func() error {
			_, err := c.Write(header[i%len(header) : i%len(header)+1])
			i++
			return err
		}) {
			t.Fatal("a client sending its headers a byte at a time kept the connection")
		}
	})

	t.Run("body never finished", func(t *testing.T) {
		c := dial(t)
		_, err := io.WriteString(c, "POST /v1/complete HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"route\":")
		if err != nil {
			t.Fatal(err)
		}
		if !closedWithin(t, c, 3*time.Second, func() error {
			_, err := c.Write([]byte(" "))
			return err
		}) {
			t.Fatal("a client that never finishes its body kept the connection")
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t)
		body := `{"route": "openai_only", "messages": [{"role": "ROLE_USER", "content": "hi"}]}`
		_, err := io.WriteString(c, "POST /v1/complete HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(body))+"\r\n\r\n"+body)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		start := time.Now()
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("unexpected bytes on an idle connection")
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("idle connection was not closed")
		}
	})
}

// TestGRPCKeepaliveEnforcement speaks raw HTTP/2 to the gRPC port and
// pings far more often than the enforcement policy allows: the server
// answers GOAWAY with ENHANCE_YOUR_CALM ("too_many_pings") and closes.
func TestGRPCKeepaliveEnforcement(t *testing.T) {
	g := startGateway(t, sim.Config{})
	c, err := new(net.Dialer).DialContext(context.Background(), "tcp", g.grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	frames := make(chan http2.Frame, 64)
	debug := make(chan string, 4)
	defer func() {
		_ = c.Close()
		for range frames { // let the reader finish
		}
	}()
	go func() {
		defer close(frames)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				// The frame's buffer is reused by the next read.
				frames <- &http2.GoAwayFrame{ErrCode: ga.ErrCode, LastStreamID: ga.LastStreamID}
				if dbg := ga.DebugData(); len(dbg) > 0 {
					select {
					case debug <- string(dbg):
					default:
					}
				}
				continue
			}
			frames <- f
		}
	}()
	var goaway *http2.GoAwayFrame
	for i := 0; goaway == nil && i < 50; i++ {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // closed after its GOAWAY
		}
		for drained := false; !drained; {
			select {
			case f, ok := <-frames:
				if !ok {
					drained = true
					break
				}
				switch f := f.(type) {
				case *http2.SettingsFrame:
					if !f.IsAck() {
						_ = fr.WriteSettingsAck()
					}
				case *http2.GoAwayFrame:
					goaway = f
				}
			case <-time.After(20 * time.Millisecond):
				drained = true
			}
		}
	}
	if goaway == nil {
		t.Fatal("50 pings in a row were tolerated")
	}
	if goaway.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", goaway.ErrCode)
	}
	select {
	case d := <-debug:
		if d != "too_many_pings" {
			t.Fatalf("GOAWAY debug data %q", d)
		}
	default:
		t.Fatal("GOAWAY without debug data")
	}
	// The gateway is unharmed.
	if _, err := g.client.Complete(ctxT(t), request("openai_only", "")); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentStreamsPerClient limits each client (API key) to one open
// stream with rate_limits.json: a second stream of the same client is
// refused over gRPC and REST, another client is not affected, and the
// slot comes back when the stream ends.
func TestConcurrentStreamsPerClient(t *testing.T) {
	g := startGatewayFiles(t, sim.Config{}, map[string]string{
		config.ProviderSettingsFile: testProviders,
		config.ABTestConfigFile:     authRoutes,
		config.ClientsFile:          authClients(),
		config.RateLimitsFile:       `{"limits": [{"name": "streams_per_client", "scope": ["api_key"], "concurrent_streams": 1}]}`,
	})
	if err := g.openai.SetConfig(sim.Config{InterToken: 20 * time.Millisecond, RequireAPIKey: testEnv["TEST_OPENAI_KEY"]}); err != nil {
		t.Fatal(err)
	}
	if err := g.anthropic.SetConfig(sim.Config{InterToken: 20 * time.Millisecond, RequireAPIKey: testEnv["TEST_ANTHROPIC_KEY"]}); err != nil {
		t.Fatal(err)
	}
	open := func(key string) (gatewayv1.LLMGateway_StreamClient, error) {
		st, err := g.client.Stream(withKey(ctxT(t), key), request("career_advice", "u"))
		if err != nil {
			return nil, err
		}
		_, err = st.Recv()
		return st, err
	}
	first, err := open(railsKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(railsKey); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second stream of the same client: %v, want ResourceExhausted", err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+g.httpAddr+"/v1/stream",
		strings.NewReader(`{"route": "career_advice", "messages": [{"role": "ROLE_USER", "content": "hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+railsKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("REST second stream: %d %v, want 429 with Retry-After", resp.StatusCode, resp.Header)
	}
	other, err := open(qaKey)
	if err != nil {
		t.Fatalf("another client's stream: %v", err)
	}
	drain(t, other)
	drain(t, first)
	again, err := open(railsKey)
	if err != nil {
		t.Fatalf("after the first stream ended: %v", err)
	}
	drain(t, again)
}
