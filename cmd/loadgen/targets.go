package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// benchRoute is the route of bench/config that every gateway path uses.
const benchRoute = "bench_openai"

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

// Request bodies. They are assembled per request into a worker's own
// buffer, so that the generator allocates little.

// openAIBody is an OpenAI Chat Completions request, as sent straight to
// the simulator and through the floor: what the gateway itself sends
// upstream for one user message.
func openAIBody(stream bool) func(b []byte, id int64, worker, n int) []byte {
	return func(b []byte, id int64, worker, n int) []byte {
		b = append(b, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`...)
		b = appendQuestion(b, id, n)
		b = append(b, `"}]`...)
		if stream {
			b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
		}
		return append(b, '}')
	}
}

// restBody is the REST shim's POST /v1/complete.
func restBody(b []byte, id int64, worker, n int) []byte {
	b = append(b, `{"route":"`+benchRoute+`","messages":[{"role":"ROLE_USER","content":"`...)
	b = appendQuestion(b, id, n)
	b = append(b, `"}],"caller":{"subject":"bench-`...)
	b = strconv.AppendInt(b, int64(worker), 10)
	return append(b, `"}}`...)
}

// chatBody is the gateway's OpenAI-compatible endpoint: the model is the
// route's name.
func chatBody(b []byte, id int64, worker, n int) []byte {
	b = append(b, `{"model":"`+benchRoute+`","messages":[{"role":"user","content":"`...)
	b = appendQuestion(b, id, n)
	b = append(b, `"}],"user":"bench-`...)
	b = strconv.AppendInt(b, int64(worker), 10)
	return append(b, `"}`...)
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
// events when firstToken is set.
type httpTarget struct {
	url    string
	header http.Header
	body   func(b []byte, id int64, worker, n int) []byte
	hit    bool   // send the same request every time
	expect []byte // must appear in a unary answer
	// firstToken, for streams, marks the first event that carries
	// content; done marks the last.
	firstToken, done []byte
}

// newCall returns the factory of one worker's calls.
func (t *httpTarget) newCall(client *http.Client) func(worker int) call {
	return func(worker int) call {
		var (
			id   = workers.Add(1)
			n    int
			buf  = make([]byte, 0, 512)
			rd   bytes.Reader
			resp bytes.Buffer
			br   = bufio.NewReaderSize(nil, 16<<10)
			hdr  = t.header.Clone()
		)
		resp.Grow(16 << 10)
		return func(ctx context.Context) (time.Duration, error) {
			i := n
			if t.hit {
				i = -1
			}
			n++
			buf = t.body(buf[:0], id, worker, i)
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
			if t.firstToken == nil {
				resp.Reset()
				if _, err := resp.ReadFrom(res.Body); err != nil {
					return 0, err
				}
				if t.expect != nil && !bytes.Contains(resp.Bytes(), t.expect) {
					return 0, fmt.Errorf("answer lacks %s: %.300s", t.expect, resp.Bytes())
				}
				return 0, nil
			}
			br.Reset(res.Body)
			var ttft time.Duration
			done := false
			for {
				line, err := br.ReadSlice('\n')
				if ttft == 0 && bytes.Contains(line, t.firstToken) {
					ttft = time.Since(start)
				}
				if !done && bytes.Contains(line, t.done) {
					done = true
				}
				if errors.Is(err, bufio.ErrBufferFull) {
					continue
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return 0, err
				}
			}
			if ttft == 0 || !done {
				return 0, errors.New("stream ended without a token or without its end")
			}
			return ttft, nil
		}
	}
}

// dialGateway opens the harness's one long-lived connection to a
// gateway's gRPC port; every worker's calls share it.
func dialGateway(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// grpcTarget is the gateway's gRPC Complete or Stream.
type grpcTarget struct {
	client gatewayv1.LLMGatewayClient
	key    string
	stream bool
	hit    bool
}

func (t *grpcTarget) newCall(worker int) call {
	req := &gatewayv1.CompleteRequest{
		Route:    benchRoute,
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER}},
		Caller:   &gatewayv1.Caller{Subject: "bench-" + strconv.Itoa(worker)},
	}
	want := gatewayv1.ServedFrom_SERVED_FROM_FRESH
	if t.hit {
		want = gatewayv1.ServedFrom_SERVED_FROM_CACHE_HIT
		req.Messages[0].Content = string(appendQuestion(nil, 0, -1))
	}
	var (
		id  = workers.Add(1)
		n   int
		buf = make([]byte, 0, 128)
		md  = metadata.Pairs("authorization", "Bearer "+t.key)
	)
	return func(ctx context.Context) (time.Duration, error) {
		if !t.hit {
			buf = appendQuestion(buf[:0], id, n)
			req.Messages[0].Content = string(buf)
			n++
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
		if !t.stream {
			resp, err := t.client.Complete(ctx, req)
			if err != nil {
				return 0, err
			}
			if resp.GetServedFrom() != want {
				return 0, fmt.Errorf("served from %s, want %s", resp.GetServedFrom(), want)
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
		var ttft time.Duration
		var last *gatewayv1.StreamResponse
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, err
			}
			if ttft == 0 && m.GetDelta() != "" {
				ttft = time.Since(start)
			}
			last = m
		}
		switch {
		case ttft == 0 || !last.GetDone():
			return 0, errors.New("stream ended without a token or without its final message")
		case last.GetServedFrom() != want:
			return 0, fmt.Errorf("served from %s, want %s", last.GetServedFrom(), want)
		}
		return ttft, nil
	}
}
