package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// The kinds of client call.
const (
	kindComplete = "grpc Complete"
	kindStream   = "grpc Stream"
	kindREST     = "REST /v1/complete"
	kindSSE      = "REST /v1/stream"
)

// Deadlines of the calls. A hanging primary costs at most two 1s attempts
// before the backup answers, so every call has room to be answered.
var deadlines = map[string]time.Duration{
	kindComplete: 5 * time.Second,
	kindStream:   8 * time.Second,
	kindREST:     5 * time.Second,
	kindSSE:      8 * time.Second,
}

// path2kind maps the REST paths to their kind of call.
var path2kind = map[string]string{"/v1/complete": kindREST, "/v1/stream": kindSSE}

// result is one finished client call.
type result struct {
	kind     string
	replica  int
	start    time.Time
	elapsed  time.Duration
	deadline time.Duration
	// class is the outcome: "ok <step>" for an answer, "grpc <code>
	// (<reason>)" or "http <status> (<reason>)" for an error status, with
	// "transport" as the reason when the status did not come from the
	// gateway (the connection was refused or cut).
	class string
	// problem says why the outcome is neither an answer nor a clear error
	// status; empty when it is one.
	problem string
	// transport is set for errors the gateway did not produce (refused or
	// cut connections): the only calls that may not have reached a handler.
	transport bool
}

// ok reports whether the call was answered.
func (r result) ok() bool { return len(r.class) > 3 && r.class[:3] == "ok " }

// target is one replica as the clients see it.
type target struct {
	r      *replica
	conn   *grpc.ClientConn
	client gatewayv1.LLMGatewayClient
	// up is cleared when the replica stops being ready or refuses a
	// connection: clients then send to the others, as a load balancer
	// would.
	up            atomic.Bool
	sent          atomic.Int64
	activeStreams atomic.Int64
}

// load runs the clients.
type load struct {
	key     string
	targets []*target
	httpc   *http.Client

	next     atomic.Uint64
	seq      atomic.Int64
	sent     atomic.Int64
	finished atomic.Int64

	mu      sync.Mutex
	results []result

	stop chan struct{}
	wg   sync.WaitGroup
}

// newLoad connects to the replicas. Connections are closed by close.
func newLoad(key string, rs []*replica) (*load, error) {
	l := &load{key: key, stop: make(chan struct{}),
		httpc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}}}
	for _, r := range rs {
		conn, err := grpc.NewClient("passthrough:///"+r.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			l.close()
			return nil, err
		}
		tg := &target{r: r, conn: conn, client: gatewayv1.NewLLMGatewayClient(conn)}
		tg.up.Store(true)
		l.targets = append(l.targets, tg)
	}
	return l, nil
}

// start runs workers clients of each kind until stopAndWait.
func (l *load) start(workers map[string]int) {
	for kind, n := range workers {
		for range n {
			l.wg.Add(1)
			go l.worker(kind)
		}
	}
	l.wg.Add(1)
	go l.watchReadiness()
}

// stopAndWait stops the clients and waits up to timeout for the calls in
// flight to end; it reports whether they all did.
func (l *load) stopAndWait(timeout time.Duration) bool {
	close(l.stop)
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (l *load) close() {
	for _, tg := range l.targets {
		_ = tg.conn.Close()
	}
	l.httpc.CloseIdleConnections()
}

// watchReadiness polls each replica's /readyz and takes a replica that is
// not ready out of rotation, as a load balancer does.
func (l *load) watchReadiness() {
	defer l.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		for _, tg := range l.targets {
			if tg.up.Load() && !tg.r.ready() {
				tg.up.Store(false)
			}
		}
	}
}

// pick chooses the next replica in rotation that is up.
func (l *load) pick() *target {
	n := uint64(len(l.targets))
	for range n {
		tg := l.targets[l.next.Add(1)%n]
		if tg.up.Load() {
			return tg
		}
	}
	return nil
}

func (l *load) worker(kind string) {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		tg := l.pick()
		if tg == nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		seq := l.seq.Add(1)
		l.sent.Add(1)
		tg.sent.Add(1)
		res := l.call(kind, tg, seq)
		l.finished.Add(1)
		if res.transport && tg.r.exited() {
			tg.up.Store(false) // refused: go to the others
		}
		l.mu.Lock()
		l.results = append(l.results, res)
		l.mu.Unlock()
		select { // think time, so that the load is steady rather than maximal
		case <-l.stop:
			return
		case <-time.After(time.Duration(10+rand.IntN(20)) * time.Millisecond):
		}
	}
}

// request is call seq's request: a distinct question for most calls, and
// one of a few repeated deterministic (temperature 0, so cached) questions
// for one call in four, so that the shared answer cache is used.
func request(seq int64) *gatewayv1.CompleteRequest {
	r := &gatewayv1.CompleteRequest{
		Route:    "chat",
		Messages: []*gatewayv1.Message{{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a nurse? #" + strconv.FormatInt(seq, 10)}},
		Params:   &gatewayv1.GenerationParams{MaxTokens: proto.Int32(64)},
		Caller:   &gatewayv1.Caller{Subject: "user-" + strconv.FormatInt(seq%50, 10)},
	}
	if seq%4 == 0 {
		r.Messages[0].Content = "What does a data analyst do? #" + strconv.FormatInt(seq%16, 10)
		r.Params.Temperature = proto.Float64(0)
	}
	return r
}

func (l *load) call(kind string, tg *target, seq int64) result {
	res := result{kind: kind, replica: tg.r.idx, start: time.Now(), deadline: deadlines[kind]}
	timeout := res.deadline
	if kind == kindREST || kind == kindSSE {
		// The gateway is sent the deadline (Grpc-Timeout) and answers 504
		// when it passes; the client waits a little longer for that answer.
		timeout += deadlineSlack
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch kind {
	case kindComplete:
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+l.key)
		resp, err := tg.client.Complete(ctx, request(seq))
		if err == nil {
			res.class, res.problem = answerClass(resp.GetServedFrom(), resp.GetStep(), resp.GetText())
		} else {
			res.class, res.transport, res.problem = grpcClass(err)
		}
	case kindStream:
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+l.key)
		res.class, res.transport, res.problem = l.stream(ctx, tg, seq)
	case kindREST:
		res.class, res.transport, res.problem = l.rest(ctx, tg, seq)
	case kindSSE:
		res.class, res.transport, res.problem = l.sse(ctx, tg, seq)
	}
	res.elapsed = time.Since(res.start)
	return res
}

// stream reads a whole stream: it must end with a final (done) message
// and a clean end, or with an error status; a clean end without the final
// message is a silently truncated answer.
func (l *load) stream(ctx context.Context, tg *target, seq int64) (class string, transport bool, problem string) {
	tg.activeStreams.Add(1)
	defer tg.activeStreams.Add(-1)
	st, err := tg.client.Stream(ctx, request(seq))
	if err != nil {
		return grpcClass(err)
	}
	var final *gatewayv1.StreamResponse
	var text bytes.Buffer
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			if final == nil {
				return "stream EOF without final message", false, "the stream ended cleanly without its final message"
			}
			class, problem = answerClass(final.GetServedFrom(), final.GetStep(), text.String())
			return class, false, problem
		}
		if err != nil {
			return grpcClass(err)
		}
		if final != nil {
			return "stream message after final", false, "a message followed the final one"
		}
		text.WriteString(m.GetDelta())
		if m.GetDone() {
			final = m
		}
	}
}

// restError is grpc-gateway's error body.
type restError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Reason string `json:"reason"`
	} `json:"details"`
}

// post sends call seq's request to path on the replica's REST shim. A
// refused connection is a transport outcome, with no response.
func (l *load) post(ctx context.Context, tg *target, path string, seq int64) (resp *http.Response, class string, transport bool, problem string) {
	body, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(request(seq))
	if err != nil {
		return nil, "marshal", false, err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+tg.r.httpAddr+path, bytes.NewReader(body))
	if err != nil {
		return nil, "request", false, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.key)
	// The gateway gets the call's deadline, as gRPC callers send theirs.
	req.Header.Set("Grpc-Timeout", strconv.FormatInt(deadlines[path2kind[path]].Milliseconds(), 10)+"m")
	// The call may be replayed on a new connection when the server closed
	// an idle one as it was sent (a replica shutting down): nothing was
	// processed.
	req.Header.Set("Idempotency-Key", "chaos-"+strconv.FormatInt(seq, 10))
	resp, err = l.httpc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, "http refused (transport)", true, ""
		}
		return nil, "http transport error", true, "no HTTP answer: " + err.Error()
	}
	return resp, "", false, ""
}

func (l *load) rest(ctx context.Context, tg *target, seq int64) (class string, transport bool, problem string) {
	resp, class, transport, problem := l.post(ctx, tg, "/v1/complete", seq)
	if resp == nil {
		return class, transport, problem
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "http truncated body", false, fmt.Sprintf("HTTP %d, body cut: %v", resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusOK {
		var cr gatewayv1.CompleteResponse
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &cr); err != nil {
			return "http 200 unreadable", false, "HTTP 200 with a body that is not a response: " + err.Error()
		}
		class, problem = answerClass(cr.GetServedFrom(), cr.GetStep(), cr.GetText())
		return class, false, problem
	}
	class, problem = restErrorClass("http "+strconv.Itoa(resp.StatusCode), b)
	if resp.StatusCode < 400 {
		problem = fmt.Sprintf("HTTP %d is neither an answer nor an error", resp.StatusCode)
	}
	return class, false, problem
}

// sse reads a server-sent event stream: it must end with a final (done)
// message or an "event: error" carrying a status; a stream that just stops
// is a silently truncated answer.
func (l *load) sse(ctx context.Context, tg *target, seq int64) (class string, transport bool, problem string) {
	tg.activeStreams.Add(1)
	defer tg.activeStreams.Add(-1)
	resp, class, transport, problem := l.post(ctx, tg, "/v1/stream", seq)
	if resp == nil {
		return class, transport, problem
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		class, problem = restErrorClass("http "+strconv.Itoa(resp.StatusCode), b)
		return class, false, problem
	}
	var (
		final *gatewayv1.StreamResponse
		text  strings.Builder
		event string
	)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			event = ""
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			if event == "error" {
				class, problem = restErrorClass("sse error", data)
				return class, false, problem
			}
			if final != nil {
				return "sse event after final", false, "an event followed the final message"
			}
			var m gatewayv1.StreamResponse
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &m); err != nil {
				return "sse unreadable", false, fmt.Sprintf("an event that is not a stream message: %.200q", data)
			}
			text.WriteString(m.GetDelta())
			if m.GetDone() {
				final = &m
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "sse cut", false, "the event stream was cut: " + err.Error()
	}
	if final == nil {
		return "sse EOF without final message", false, "the event stream ended without its final message or an error event"
	}
	class, problem = answerClass(final.GetServedFrom(), final.GetStep(), text.String())
	return class, false, problem
}

// restErrorClass classifies a REST error body (a google.rpc.Status in
// grpc-gateway's JSON) under prefix.
func restErrorClass(prefix string, body []byte) (class, problem string) {
	var e restError
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		return prefix + " unclear", fmt.Sprintf("%s without a clear error body: %.200q", prefix, body)
	}
	reason := "no reason"
	for _, d := range e.Details {
		if d.Reason != "" {
			reason = d.Reason
		}
	}
	return fmt.Sprintf("%s (%s)", prefix, reason), unclearCode(codes.Code(e.Code), e.Message) //nolint:gosec // a gRPC code
}

// answerClass classifies an answer: it must say how it was produced and
// hold text.
func answerClass(from gatewayv1.ServedFrom, step gatewayv1.FailoverStep, text string) (class, problem string) {
	class = "ok " + stepName(step)
	switch {
	case from == gatewayv1.ServedFrom_SERVED_FROM_UNSPECIFIED || step == gatewayv1.FailoverStep_FAILOVER_STEP_UNSPECIFIED:
		return class, "an answer that does not say how it was produced"
	case text == "":
		return class, "an empty answer"
	}
	return class, ""
}

func stepName(s gatewayv1.FailoverStep) string {
	n := s.String()
	const prefix = "FAILOVER_STEP_"
	if len(n) > len(prefix) && n[:len(prefix)] == prefix {
		n = n[len(prefix):]
	}
	return n
}

// grpcClass classifies a gRPC error. The gateway's own errors carry an
// ErrorInfo; an Unavailable or Canceled without one came from the
// transport (a refused or closed connection).
func grpcClass(err error) (class string, transport bool, problem string) {
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if reason == "" {
		switch st.Code() {
		case codes.Unavailable, codes.Canceled:
			reason, transport = "transport", true
		default:
			reason = "no reason"
		}
	}
	return fmt.Sprintf("grpc %s (%s)", st.Code(), reason), transport, unclearCode(st.Code(), st.Message())
}

// unclearCode says why an error status is not a clear one: Unknown and
// Internal mean the gateway failed in a way it did not map, and a status
// without a message tells the caller nothing.
func unclearCode(c codes.Code, msg string) string {
	switch {
	case c == codes.OK:
		return "an error with status OK"
	case c == codes.Unknown || c == codes.Internal:
		return fmt.Sprintf("status %s: %s", c, msg)
	case msg == "":
		return fmt.Sprintf("status %s without a message", c)
	}
	return ""
}

// snapshot returns the results so far.
func (l *load) snapshot() []result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]result(nil), l.results...)
}
