package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/schemacheck"
)

// The routes of bench/config the gateway paths use: benchRoute is answered
// by the OpenAI provider, anthropicRoute by the Anthropic one (the
// OpenAI-compatible endpoint translated to the Messages API and back).
const (
	benchRoute     = "bench_openai"
	anthropicRoute = "bench_anthropic"
)

// The models bench/config's routes call. The simulator's answer depends
// only on the model and the last user message (sim.Text), so the harness
// knows every answer in advance and checks it: a fast wrong answer counts
// as an error, not as a request served.
const (
	openAIModel    = "gpt-4o-mini"
	anthropicModel = "claude-3-5-haiku-latest"
)

// question is the user message of every request. A miss appends the
// worker and a per-worker counter, so that no two requests are the same
// and every one misses the cache; a hit sends it unchanged.
const question = "How do I move from QA into data engineering? #"

// workers numbers every worker of the run, so that no two workers, in
// this cell or another, send the same message.
var workers atomic.Int64

// appendQuestion appends the user message of request n of the worker
// numbered id (n < 0: the fixed message of the cache-hit path) as JSON
// string content.
func appendQuestion(b []byte, id int64, n int) []byte {
	b = append(b, question...)
	if n < 0 {
		return append(b, "hit"...)
	}
	b = strconv.AppendInt(b, id, 10)
	b = append(b, '-')
	return strconv.AppendInt(b, int64(n), 10)
}

// answerOf is the simulator's answer text from model to the user message q.
func answerOf(model string) func(q []byte) string {
	return func(q []byte) string { return sim.Text(model, string(q), 0, 0) }
}

// The tool of the tool-call paths: tool_choice required makes the
// simulator call it, with arguments built from its parameters' schema
// (schemacheck's example of it).
const (
	toolName        = "find_courses"
	toolDescription = "Finds courses that teach a skill at a level."
	toolParameters  = `{"type":"object","properties":{"skill":{"type":"string"},` +
		`"level":{"type":"string","enum":["beginner","intermediate","advanced"]}},"required":["skill","level"]}`
)

// toolArguments are the arguments the simulator calls the tool with.
var toolArguments = func() string {
	s, err := schemacheck.Compile([]byte(toolParameters))
	if err != nil {
		panic("the tool's parameters schema: " + err.Error())
	}
	a := s.Example()
	if !json.Valid(a) {
		panic("the tool's example arguments are not JSON: " + string(a))
	}
	return string(a)
}()

// Request bodies. They are assembled per request into a worker's own
// buffer from the request's user message q, so that the generator
// allocates little.

// openAIBody is an OpenAI Chat Completions request, as sent straight to
// the simulator and through the floor: what the gateway itself sends
// upstream for one user message.
func openAIBody(stream bool) func(b, q []byte, worker int) []byte {
	return func(b, q []byte, worker int) []byte {
		b = append(b, `{"model":"`+openAIModel+`","messages":[{"role":"user","content":"`...)
		b = append(b, q...)
		b = append(b, `"}]`...)
		if stream {
			b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
		}
		return append(b, '}')
	}
}

// openAIToolBody is a streamed OpenAI request offering the tool, its
// call required: the gateway's upstream request for the gRPC tool stream,
// field for field.
func openAIToolBody(b, q []byte, worker int) []byte {
	b = append(b, `{"model":"`+openAIModel+`","messages":[{"role":"user","content":"`...)
	b = append(b, q...)
	return append(b, `"}],"stream":true,"stream_options":{"include_usage":true},`+
		`"tools":[{"type":"function","function":{"name":"`+toolName+`","description":"`+toolDescription+`",`+
		`"parameters":`+toolParameters+`}}],"tool_choice":"required"}`...)
}

// restBody is the REST shim's POST /v1/complete.
func restBody(b, q []byte, worker int) []byte {
	b = append(b, `{"route":"`+benchRoute+`","messages":[{"role":"ROLE_USER","content":"`...)
	b = append(b, q...)
	b = append(b, `"}],"caller":{"subject":"bench-`...)
	b = strconv.AppendInt(b, int64(worker), 10)
	return append(b, `"}}`...)
}

// chatBody is the gateway's OpenAI-compatible endpoint: the model is the
// route's name.
func chatBody(route string) func(b, q []byte, worker int) []byte {
	return func(b, q []byte, worker int) []byte {
		b = append(b, `{"model":"`...)
		b = append(b, route...)
		b = append(b, `","messages":[{"role":"user","content":"`...)
		b = append(b, q...)
		b = append(b, `"}],"user":"bench-`...)
		b = strconv.AppendInt(b, int64(worker), 10)
		return append(b, `"}`...)
	}
}

// newHTTPClient is a keep-alive client with a connection per worker.
func newHTTPClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

// httpTarget is an HTTP endpoint answered in JSON, or in server-sent
// events when sse is set. Every answer is checked: the answer text (or a
// stream's fragments put together) must be want's, and each of must must
// appear in it.
type httpTarget struct {
	url    string
	header http.Header
	body   func(b, q []byte, worker int) []byte
	hit    bool // send the same request every time
	// want is the answer to the user message q: a unary answer must hold
	// it as a JSON string, a stream's fragments must add up to it.
	want func(q []byte) string
	// must lists what else the answer holds (its object, model and finish
	// reason), in a unary answer or in some event of a stream.
	must [][]byte
	sse  *sseCheck
}

// sseCheck says how to read a stream of server-sent events.
type sseCheck struct {
	// first marks the event that carries the first token.
	first []byte
	// fragment precedes each JSON string whose values, put together, are
	// the answer: the text deltas, or a tool call's argument fragments.
	fragment []byte
	// isJSON: the answer is itself JSON text (a tool call's arguments).
	isJSON bool
}

// The checks of the OpenAI answers. A chat completion straight from the
// simulator and one from the gateway's compatible endpoint are written
// alike; the model is the one the request or the route names.
var (
	openAIUnary = func(model string) [][]byte {
		return [][]byte{[]byte(`"object":"chat.completion"`), []byte(`"model":"` + model + `"`), []byte(`"finish_reason":"stop"`)}
	}
	openAITextStream = &sseCheck{first: []byte(`"delta":{"content":"`), fragment: []byte(`"delta":{"content":"`)}
	openAIToolStream = &sseCheck{first: []byte(`"tool_calls":[`), fragment: []byte(`"arguments":"`), isJSON: true}
	sseDone          = []byte("data: [DONE]")
)

// newCall returns the factory of one worker's calls.
func (t *httpTarget) newCall(client *http.Client) func(worker int) call {
	return func(worker int) call {
		var (
			id    = workers.Add(1)
			n     int
			q     = make([]byte, 0, 128)
			buf   = make([]byte, 0, 1024)
			quote = make([]byte, 0, 512)
			frags = make([]byte, 0, 512)
			rd    bytes.Reader
			resp  bytes.Buffer
			br    = bufio.NewReaderSize(nil, 16<<10)
			hdr   = t.header.Clone()
		)
		resp.Grow(16 << 10)
		return func(ctx context.Context) (time.Duration, error) {
			i := n
			if t.hit {
				i = -1
			}
			n++
			q = appendQuestion(q[:0], id, i)
			buf = t.body(buf[:0], q, worker)
			rd.Reset(buf)
			start := time.Now()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, &rd)
			if err != nil {
				return 0, err
			}
			req.Header = hdr
			res, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			defer func() { _ = res.Body.Close() }()
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
				if res.StatusCode == http.StatusNotFound {
					return 0, fmt.Errorf("%w: HTTP 404: %s", errNotPresent, bytes.TrimSpace(b))
				}
				return 0, fmt.Errorf("HTTP %d: %s", res.StatusCode, bytes.TrimSpace(b))
			}
			if t.sse == nil {
				resp.Reset()
				if _, err := resp.ReadFrom(res.Body); err != nil {
					return 0, err
				}
				return 0, t.checkUnary(resp.Bytes(), q, quote)
			}
			br.Reset(res.Body)
			var (
				ttft time.Duration
				seen uint64 // bit i: must[i] seen
				done bool
				cut  bool // a line longer than the buffer
			)
			frags = frags[:0]
			for {
				line, err := br.ReadSlice('\n')
				if errors.Is(err, bufio.ErrBufferFull) {
					cut = true
				}
				if ttft == 0 && bytes.Contains(line, t.sse.first) {
					ttft = time.Since(start)
				}
				if at := bytes.Index(line, t.sse.fragment); at >= 0 {
					frags = appendJSONString(frags, line[at+len(t.sse.fragment):])
				}
				for j, m := range t.must {
					if seen&(1<<j) == 0 && bytes.Contains(line, m) {
						seen |= 1 << j
					}
				}
				if !done && bytes.HasPrefix(line, sseDone) {
					done = true
				}
				if err == io.EOF {
					break
				}
				if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
					return 0, err
				}
			}
			switch {
			case ttft == 0 || !done:
				return 0, errors.New("stream ended without a token or without its end")
			case cut:
				return 0, errors.New("stream has an event longer than 16 KiB")
			}
			for j, m := range t.must {
				if seen&(1<<j) == 0 {
					return 0, fmt.Errorf("stream lacks %s", m)
				}
			}
			return ttft, checkFragments(frags, t.want(q), t.sse.isJSON)
		}
	}
}

// checkUnary checks a JSON answer to the user message q; quote is
// scratch space.
func (t *httpTarget) checkUnary(body, q, quote []byte) error {
	want := t.want(q)
	quote = append(append(append(quote[:0], '"'), want...), '"')
	if !bytes.Contains(body, quote) {
		return fmt.Errorf("answer lacks the text %q: %.300s", want, body)
	}
	for _, m := range t.must {
		if !bytes.Contains(body, m) {
			return fmt.Errorf("answer lacks %s: %.300s", m, body)
		}
	}
	return nil
}

// appendJSONString appends the JSON string that s starts inside of (after
// its opening quote) as it is written, escapes and all, up to its closing
// quote.
func appendJSONString(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return append(dst, s[:i]...)
		}
	}
	return append(dst, s...) // unterminated: the comparison fails
}

// checkFragments checks that a stream's fragments, as written in JSON
// strings, put together are want (and, with isJSON, JSON text).
func checkFragments(frags []byte, want string, isJSON bool) error {
	if bytes.IndexByte(frags, '\\') < 0 { // nothing escaped: compare as written
		if string(frags) != want {
			return fmt.Errorf("stream's answer %.300q, want %.300q", frags, want)
		}
		if isJSON && !json.Valid(frags) {
			return fmt.Errorf("stream's answer is not JSON: %.300s", frags)
		}
		return nil
	}
	var got string
	if err := json.Unmarshal(slices.Concat([]byte{'"'}, frags, []byte{'"'}), &got); err != nil {
		return fmt.Errorf("stream's fragments are not JSON strings: %w", err)
	}
	if got != want {
		return fmt.Errorf("stream's answer %.300q, want %.300q", got, want)
	}
	if isJSON && !json.Valid([]byte(got)) {
		return fmt.Errorf("stream's answer is not JSON: %.300s", got)
	}
	return nil
}

// dialGateway opens the harness's one long-lived connection to a
// gateway's gRPC port; every worker's calls share it.
func dialGateway(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// grpcTarget is the gateway's gRPC Complete or Stream on benchRoute. Every
// answer is checked: its text (or, with tools, its one tool call), finish
// reason and where it was served from.
type grpcTarget struct {
	client gatewayv1.LLMGatewayClient
	key    string
	stream bool
	hit    bool
	// tools offers the tool and requires a call: the stream must carry
	// the call, its arguments the simulator's.
	tools bool
}

// benchTool is the tool of the gRPC tool stream, its call required.
var (
	benchTool = &gatewayv1.Tool{Name: toolName, Description: toolDescription,
		Parameters: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: toolParameters}}}
	requireTool = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}
)

func (t *grpcTarget) newCall(worker int) call {
	req := &gatewayv1.CompleteRequest{
		Route:    benchRoute,
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER}},
		Caller:   &gatewayv1.Caller{Subject: "bench-" + strconv.Itoa(worker)},
	}
	wantFinish := gatewayv1.FinishReason_FINISH_REASON_STOP
	if t.tools {
		req.Tools, req.ToolChoice = []*gatewayv1.Tool{benchTool}, requireTool
		wantFinish = gatewayv1.FinishReason_FINISH_REASON_TOOL_CALLS
	}
	want := gatewayv1.ServedFrom_SERVED_FROM_FRESH
	answer := answerOf(openAIModel)
	var wantText string
	if t.hit {
		want = gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT
		q := appendQuestion(nil, 0, -1)
		req.Messages[0].Content = string(q)
		wantText = answer(q)
	}
	var (
		id   = workers.Add(1)
		n    int
		buf  = make([]byte, 0, 128)
		text strings.Builder
		args strings.Builder
		md   = metadata.Pairs("authorization", "Bearer "+t.key)
	)
	return func(ctx context.Context) (time.Duration, error) {
		if !t.hit {
			buf = appendQuestion(buf[:0], id, n)
			req.Messages[0].Content = string(buf)
			if !t.tools {
				wantText = answer(buf)
			}
			n++
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
		if !t.stream {
			resp, err := t.client.Complete(ctx, req)
			if err != nil {
				return 0, err
			}
			switch {
			case resp.GetServedFrom() != want:
				return 0, fmt.Errorf("served from %s, want %s", resp.GetServedFrom(), want)
			case resp.GetText() != wantText:
				return 0, fmt.Errorf("answer %.300q, want %.300q", resp.GetText(), wantText)
			case resp.GetFinishReason() != wantFinish:
				return 0, fmt.Errorf("finish reason %s, want %s", resp.GetFinishReason(), wantFinish)
			}
			return 0, nil
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := t.client.Stream(ctx, req)
		if err != nil {
			return 0, err
		}
		var (
			ttft  time.Duration
			last  *gatewayv1.StreamResponse
			calls int // tool-call deltas that open a call
			name  string
		)
		text.Reset()
		args.Reset()
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, err
			}
			tc := m.GetToolCall()
			if ttft == 0 && (m.GetDelta() != "" || tc != nil) {
				ttft = time.Since(start)
			}
			text.WriteString(m.GetDelta())
			if tc != nil {
				if tc.GetName() != "" {
					calls++
					name = tc.GetName()
				}
				args.WriteString(tc.GetArguments())
			}
			last = m
		}
		switch {
		case ttft == 0 || !last.GetDone():
			return 0, errors.New("stream ended without a token or without its final message")
		case last.GetServedFrom() != want:
			return 0, fmt.Errorf("served from %s, want %s", last.GetServedFrom(), want)
		case last.GetFinishReason() != wantFinish:
			return 0, fmt.Errorf("finish reason %s, want %s", last.GetFinishReason(), wantFinish)
		case !t.tools && text.String() != wantText:
			return 0, fmt.Errorf("answer %.300q, want %.300q", text.String(), wantText)
		case t.tools && (calls != 1 || name != toolName):
			return 0, fmt.Errorf("%d tool calls, the last to %q; want 1 to %s", calls, name, toolName)
		case t.tools && !json.Valid([]byte(args.String())):
			return 0, fmt.Errorf("tool call arguments are not JSON: %.300s", args.String())
		case t.tools && args.String() != toolArguments:
			return 0, fmt.Errorf("tool call arguments %.300s, want %s", args.String(), toolArguments)
		}
		return ttft, nil
	}
}
