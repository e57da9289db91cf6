// Command loadgen is the gateway's load harness. It starts the provider
// simulator (bin/llmsim, answering at once), a floor (the thinnest Go
// proxy: httputil.ReverseProxy in front of the simulator, run as this
// program's "floor" subcommand), the gateway (bin/gateway) with the
// production-like configuration of bench/config (authentication,
// validation, quotas, the answer cache and metrics on), a second gateway
// on Redis, and drives each with the same closed-loop load at several
// concurrencies. It prints one table of requests per second and latency
// percentiles, each with its ratio to the floor measured in the same run,
// the time to first token of streams through the gateway and direct, and
// the gateway's resident memory with thousands of streams open, and
// writes the results as JSON so that runs can be compared.
//
// Every process is separate, so the CPU is split as in production; on a
// small machine the load generator competes with them for it.
//
// Usage:
//
//	loadgen [flags]            run the harness (see -help)
//	loadgen floor -upstream U  serve only the floor proxy
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/careerpath/llmgateway/config"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		err = runFloor(os.Args[2:])
	} else {
		err = run(os.Args[1:], os.Stdout)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options is the parsed command line.
type options struct {
	duration, warmup time.Duration
	rounds           int
	concurrency      []int
	paths            []string
	jsonOut, compare string
	cpuProfile       string
	memProfile       string
	profileCell      string
	streams          int
	streamConns      int
	streamPause      time.Duration
	binDir           string
	configDir        string
	redisServer      string
	keep             bool
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(out)
	conc := fs.String("concurrency", "1,16,64", "comma-separated concurrency levels (closed-loop workers)")
	paths := fs.String("paths", "all", "comma-separated paths to measure, or all: "+strings.Join(pathNames(), ","))
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per cell (path × concurrency)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up before each cell's measured time")
	fs.IntVar(&o.rounds, "rounds", 3, "split each cell's measured time into this many rounds, alternating with the other paths (evens out a machine whose load drifts)")
	fs.StringVar(&o.jsonOut, "json", "bench/results/latest.json", "write the results as JSON here (empty: do not)")
	fs.StringVar(&o.compare, "compare", "", "an earlier run's JSON to compare with")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the gateway, taken during -profile-cell, here")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of the gateway, taken after -profile-cell, here")
	fs.StringVar(&o.profileCell, "profile-cell", "grpc-miss@16", "the cell (path@concurrency) that -cpuprofile and -memprofile cover")
	fs.IntVar(&o.streams, "streams", 10000, "streams held open at once for the memory measurement (0: skip it)")
	fs.IntVar(&o.streamConns, "stream-conns", 4, "gRPC connections the memory measurement's streams share")
	fs.DurationVar(&o.streamPause, "stream-pause", 20*time.Second, "the slow simulator's pause between tokens in the memory measurement (under the gateway's 30s idle timeout)")
	fs.StringVar(&o.binDir, "bin", "bin", "directory holding the gateway and llmsim binaries")
	fs.StringVar(&o.configDir, "config", "bench/config", "the gateway configuration to run (its base URLs name 127.0.0.1:8090, replaced by the simulator's)")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary for the Redis path")
	fs.BoolVar(&o.keep, "keep", false, "keep the run directory (process logs, generated configuration)")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: loadgen [flags]\n\nMeasures the gateway against a bare reverse proxy and the simulator itself.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for f := range strings.SplitSeq(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-concurrency: %q is not a positive integer", f)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if *paths == "all" {
		o.paths = pathNames()
	} else {
		for p := range strings.SplitSeq(*paths, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(pathNames(), p) {
				return o, fmt.Errorf("-paths: unknown path %q (one of %s)", p, strings.Join(pathNames(), ", "))
			}
			o.paths = append(o.paths, p)
		}
	}
	if o.duration <= 0 || o.warmup < 0 || o.rounds < 1 {
		return o, errors.New("-duration and -rounds must be positive and -warmup not negative")
	}
	if o.streams < 0 || o.streamConns < 1 {
		return o, errors.New("-streams must not be negative and -stream-conns must be positive")
	}
	return o, nil
}

// pathSpec is one measured path.
type pathSpec struct {
	name, desc string
	// baseline is the floor row its ratios divide by.
	baseline string
	stream   bool
	redis    bool // needs the Redis-backed gateway
}

// paths lists every path, in the order of the table.
var paths = []pathSpec{
	{name: "direct", desc: "POST /v1/chat/completions straight to the simulator (upper bound)", baseline: "floor"},
	{name: "floor", desc: "the same through httputil.ReverseProxy", baseline: "floor"},
	{name: "grpc-miss", desc: "gRPC Complete, every request different: cache lookup misses, answer stored", baseline: "floor"},
	{name: "rest-miss", desc: "REST shim POST /v1/complete, cache miss", baseline: "floor"},
	{name: "openai-miss", desc: "OpenAI-compatible POST /v1/chat/completions on the gateway, cache miss", baseline: "floor"},
	{name: "anthropic-miss", desc: "openai-miss on a route answered by the Anthropic provider (Messages API, translated both ways)", baseline: "floor"},
	{name: "grpc-hit", desc: "gRPC Complete, the same request every time: cache hit", baseline: "floor"},
	{name: "redis-miss", desc: "grpc-miss on a gateway with -redis-addrs (cache, quota, experiments in Redis)", baseline: "floor", redis: true},
	{name: "direct-stream", desc: "streaming POST /v1/chat/completions straight to the simulator", baseline: "floor-stream", stream: true},
	{name: "floor-stream", desc: "the same through httputil.ReverseProxy", baseline: "floor-stream", stream: true},
	{name: "grpc-stream", desc: "gRPC Stream, cache miss", baseline: "floor-stream", stream: true},
	{name: "floor-tool-stream", desc: "a streaming chat completion with one tool, its call required, through httputil.ReverseProxy", baseline: "floor-tool-stream", stream: true},
	{name: "grpc-tool-stream", desc: "gRPC Stream with one tool, its call required: a streamed tool call, cache miss", baseline: "floor-tool-stream", stream: true},
}

func pathNames() []string {
	n := make([]string, len(paths))
	for i, p := range paths {
		n[i] = p.name
	}
	return n
}

// env is the running system under test.
type env struct {
	dir            string
	key            string
	sim            *simProc
	floorAddr      string
	mem, redis     *gatewayProc
	memGW, redisGW gatewayv1.LLMGatewayClient
	// idle is the gateway's VmRSS, RssAnon and RssFile after it started,
	// before any request.
	idle  []int64
	stops []func()
}

func (e *env) close() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
	e.stops = nil
}

func run(args []string, stdout io.Writer) error {
	o, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if _, err := raiseFileLimit(); err != nil {
		return fmt.Errorf("raise the open-file limit: %w", err)
	}
	rep := &Report{
		Time:    time.Now().UTC().Format(time.RFC3339),
		Machine: machineInfo(),
		Settings: Settings{WarmupSeconds: o.warmup.Seconds(), DurationSeconds: o.duration.Seconds(), Rounds: o.rounds,
			Concurrency: o.concurrency, Paths: o.paths, Streams: o.streams},
	}
	rep.Machine.CPUs, rep.Machine.GoVersion, rep.Machine.OS = runtime.NumCPU(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH

	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	if o.keep {
		_, _ = fmt.Fprintf(os.Stderr, "run directory: %s\n", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	e, err := startEnv(o, dir)
	defer e.close()
	if err != nil {
		return err
	}
	rep.IdleRSS, rep.IdleRSSAnon, rep.IdleRSSFile = e.idle[0], e.idle[1], e.idle[2]
	_, _ = fmt.Fprintf(os.Stderr, "simulator %s, floor %s, gateway %s (RSS %s after start)", e.sim.addr, e.floorAddr, e.mem.grpcAddr, mib(rep.IdleRSS))
	if e.redis != nil {
		_, _ = fmt.Fprintf(os.Stderr, ", gateway on Redis %s", e.redis.grpcAddr)
	}
	_, _ = fmt.Fprintf(os.Stderr, "; %d cells of %s in %d rounds + %s warm-up\n",
		len(o.paths)*len(o.concurrency), o.duration, o.rounds, o.warmup)

	for _, c := range o.concurrency {
		if err := e.measureConcurrency(ctx, o, c, rep); err != nil {
			return err
		}
	}
	e.close()

	if o.streams > 0 {
		_, _ = fmt.Fprintf(os.Stderr, "memory: opening %d streams against a slow simulator\n", o.streams)
		m, err := measureMemory(ctx, o, dir, e.key)
		if err != nil {
			return fmt.Errorf("memory measurement: %w", err)
		}
		rep.Memory = &m
	}

	order := pathNames()
	slices.SortStableFunc(rep.Cells, func(a, b Cell) int {
		if d := slices.Index(order, a.Path) - slices.Index(order, b.Path); d != 0 {
			return d
		}
		return a.Concurrency - b.Concurrency
	})
	rep.computeRatios()
	rep.checkTargets()
	_, _ = fmt.Fprintf(stdout, "\n%s, %d CPUs, %s, load average at start %s; per cell %s measured in %d rounds, %s warm-up\n\n",
		rep.Machine.CPUModel, rep.Machine.CPUs, rep.Machine.GoVersion, rep.Machine.LoadAvg, o.duration, o.rounds, o.warmup)
	rep.printTable(stdout)
	if o.compare != "" {
		old, err := readReport(o.compare)
		if err != nil {
			return err
		}
		rep.printCompare(stdout, old, o.compare)
	}
	if o.jsonOut != "" {
		if err := os.MkdirAll(filepath.Dir(o.jsonOut), 0o755); err != nil {
			return err
		}
		if err := rep.writeJSON(o.jsonOut); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "\nresults written to %s\n", o.jsonOut)
	}
	return nil
}

// measureConcurrency measures every path at concurrency c: o.rounds
// rounds, each going through every path once. The first round of a path
// warms it up for o.warmup, later rounds (its connections already open)
// for at most a quarter of a second.
func (e *env) measureConcurrency(ctx context.Context, o options, c int, rep *Report) error {
	runs := make([]*cellRun, 0, len(o.paths))
	defer func() {
		for _, cr := range runs {
			cr.client.CloseIdleConnections()
		}
	}()
	for _, name := range o.paths {
		cr, err := e.prepareCell(ctx, name, c)
		if err != nil {
			return fmt.Errorf("%s c=%d: %w", name, c, err)
		}
		runs = append(runs, cr)
	}
	per := o.duration / time.Duration(o.rounds)
	for r := range o.rounds {
		warm := o.warmup
		if r > 0 {
			warm = min(warm, 250*time.Millisecond)
		}
		for _, cr := range runs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			cr.measure(ctx, o, warm, per, r == 0 && o.profileCell == fmt.Sprintf("%s@%d", cr.name, c))
		}
	}
	for _, cr := range runs {
		cell := cr.cell()
		_, _ = fmt.Fprintf(os.Stderr, "  %-17s c=%-3d %8.0f req/s  p50 %.3f ms  p99 %.3f ms  errors %d%s\n",
			cell.Path, c, cell.RPS, cell.Latency.P50, cell.Latency.P99, cell.Errors, naNote(cell))
		rep.Cells = append(rep.Cells, cell)
	}
	return nil
}

func naNote(c Cell) string {
	if c.NA != "" {
		return " (n/a: " + c.NA + ")"
	}
	return ""
}

// idleSettle is how long the gateway is left to settle after it says it
// listens before its idle RSS is read.
const idleSettle = 500 * time.Millisecond

// startEnv starts the simulator, the floor and the gateways the selected
// paths need.
func startEnv(o options, dir string) (*env, error) {
	e := &env{dir: dir}
	var hash string
	e.key, hash = config.NewKey()
	bin := func(name string) string { return filepath.Join(o.binDir, name) }

	sim, err := startSim(dir, "llmsim", bin("llmsim"))
	if err != nil {
		return e, err
	}
	e.sim = sim
	e.stops = append(e.stops, sim.stop)
	floor, addr, err := startFloor(dir, "http://"+sim.addr)
	if err != nil {
		return e, err
	}
	e.floorAddr = addr
	e.stops = append(e.stops, floor.stop)

	cfgDir := filepath.Join(dir, "config")
	if err := writeConfig(o.configDir, cfgDir, sim.addr, hash); err != nil {
		return e, err
	}
	if e.mem, e.memGW, err = e.startGateway(bin("gateway"), "gateway", cfgDir); err != nil {
		return e, err
	}
	time.Sleep(idleSettle)
	if e.idle, err = procStatus(e.mem.pid(), "VmRSS", "RssAnon", "RssFile"); err != nil {
		return e, fmt.Errorf("the gateway's RSS after start: %w", err)
	}
	if slices.ContainsFunc(o.paths, func(p string) bool { return spec(p).redis }) {
		rp, raddr, err := startRedis(dir, o.redisServer)
		if err != nil {
			return e, err
		}
		e.stops = append(e.stops, rp.stop)
		if e.redis, e.redisGW, err = e.startGateway(bin("gateway"), "gateway-redis", cfgDir, "-redis-addrs", raddr); err != nil {
			return e, err
		}
	}
	return e, nil
}

func (e *env) startGateway(bin, name, cfgDir string, args ...string) (*gatewayProc, gatewayv1.LLMGatewayClient, error) {
	g, err := startGateway(e.dir, name, bin, cfgDir, args...)
	if err != nil {
		return nil, nil, err
	}
	e.stops = append(e.stops, g.stop)
	cc, err := dialGateway(g.grpcAddr)
	if err != nil {
		return nil, nil, err
	}
	e.stops = append(e.stops, func() { _ = cc.Close() })
	return g, gatewayv1.NewLLMGatewayClient(cc), nil
}

// writeConfig copies the gateway configuration in src to dst with the
// simulator's address in its base URLs, and adds clients.json with the
// run's API key (made afresh for each run, so no key is ever committed).
func writeConfig(src, dst, simAddr, keyHash string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no configuration files in %s", src)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		b = []byte(strings.ReplaceAll(string(b), "127.0.0.1:8090", simAddr))
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	clients := fmt.Sprintf(`{"clients": [{"name": "bench", "key_sha256": %q, "routes": ["*"]}]}`+"\n", keyHash)
	return os.WriteFile(filepath.Join(dst, config.ClientsFile), []byte(clients), 0o644)
}

func spec(name string) pathSpec {
	for _, p := range paths {
		if p.name == name {
			return p
		}
	}
	return pathSpec{}
}

// cellRun is one path at one concurrency, measured in rounds that
// alternate with the other paths' so that a machine whose load drifts
// (other work on it) weighs on every path alike.
type cellRun struct {
	name    string
	conc    int
	spec    pathSpec
	client  *http.Client
	newCall func(worker int) call
	gw      *gatewayProc // the gateway serving the path, for profiles
	na      string
	rounds  int
	total   measurement
}

// prepareCell builds the calls of one path at one concurrency and makes
// one probe call, which tells an absent endpoint from a slow one.
func (e *env) prepareCell(ctx context.Context, name string, conc int) (*cellRun, error) {
	cr := &cellRun{name: name, conc: conc, spec: spec(name), client: newHTTPClient(conc), gw: e.mem,
		total: measurement{lat: newHist(), ttft: newHist()}}
	client := cr.client
	auth := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + e.key}}
	plain := http.Header{"Content-Type": {"application/json"}}
	openAI := func(url string, h http.Header, body func(b, q []byte, worker int) []byte, model string) *httpTarget {
		return &httpTarget{url: url, header: h, body: body, want: answerOf(model), must: openAIUnary(model)}
	}
	sse := func(url string) *httpTarget {
		return &httpTarget{url: url, header: plain, body: openAIBody(true), want: answerOf(openAIModel),
			must: [][]byte{[]byte(`"finish_reason":"stop"`)}, sse: openAITextStream}
	}
	switch name {
	case "direct":
		cr.newCall = openAI("http://"+e.sim.addr+"/v1/chat/completions", plain, openAIBody(false), openAIModel).newCall(client)
	case "floor":
		cr.newCall = openAI("http://"+e.floorAddr+"/v1/chat/completions", plain, openAIBody(false), openAIModel).newCall(client)
	case "direct-stream":
		cr.newCall = sse("http://" + e.sim.addr + "/v1/chat/completions").newCall(client)
	case "floor-stream":
		cr.newCall = sse("http://" + e.floorAddr + "/v1/chat/completions").newCall(client)
	case "floor-tool-stream":
		cr.newCall = (&httpTarget{url: "http://" + e.floorAddr + "/v1/chat/completions", header: plain, body: openAIToolBody,
			want: func([]byte) string { return toolArguments },
			must: [][]byte{[]byte(`"name":"` + toolName + `"`), []byte(`"finish_reason":"tool_calls"`)},
			sse:  openAIToolStream}).newCall(client)
	case "grpc-miss":
		cr.newCall = (&grpcTarget{client: e.memGW, key: e.key}).newCall
	case "grpc-hit":
		cr.newCall = (&grpcTarget{client: e.memGW, key: e.key, hit: true}).newCall
	case "grpc-stream":
		cr.newCall = (&grpcTarget{client: e.memGW, key: e.key, stream: true}).newCall
	case "grpc-tool-stream":
		cr.newCall = (&grpcTarget{client: e.memGW, key: e.key, stream: true, tools: true}).newCall
	case "redis-miss":
		cr.newCall, cr.gw = (&grpcTarget{client: e.redisGW, key: e.key}).newCall, e.redis
	case "rest-miss":
		// The REST shim writes protojson, whose spacing varies from build
		// to build: only quoted values are looked for.
		cr.newCall = (&httpTarget{url: "http://" + e.mem.httpAddr + "/v1/complete", header: auth, body: restBody,
			want: answerOf(openAIModel), must: [][]byte{[]byte(`"FINISH_REASON_STOP"`), []byte(`"SERVED_FROM_FRESH"`)}}).newCall(client)
	case "openai-miss":
		cr.newCall = openAI("http://"+e.mem.httpAddr+"/v1/chat/completions", auth, chatBody(benchRoute), openAIModel).newCall(client)
	case "anthropic-miss":
		cr.newCall = openAI("http://"+e.mem.httpAddr+"/v1/chat/completions", auth, chatBody(anthropicRoute), anthropicModel).newCall(client)
	default:
		return nil, fmt.Errorf("unknown path %q", name)
	}
	probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err := cr.newCall(conc)(probeCtx)
	cancel()
	if errors.Is(err, errNotPresent) {
		cr.na = "endpoint not present"
	}
	return cr, nil
}

// measure runs one round: warm-up, then dur measured, added to the
// cell's totals. With profile set, the gateway's CPU profile is taken
// during the measured time and its heap profile after it.
func (cr *cellRun) measure(ctx context.Context, o options, warmup, dur time.Duration, profile bool) {
	if cr.na != "" {
		return
	}
	var atWindow func()
	if profile && o.cpuProfile != "" {
		secs := max(1, int(math.Round(dur.Seconds())))
		atWindow = func() {
			if err := fetch(ctx, cr.gw.adminAddr, "/debug/pprof/profile?seconds="+strconv.Itoa(secs), o.cpuProfile); err != nil {
				_, _ = fmt.Fprintln(os.Stderr, "loadgen: CPU profile:", err)
			}
		}
	}
	m := closedLoop(ctx, cr.conc, warmup, dur, cr.newCall, atWindow)
	if profile && o.memProfile != "" {
		if err := fetch(ctx, cr.gw.adminAddr, "/debug/pprof/heap", o.memProfile); err != nil {
			_, _ = fmt.Fprintln(os.Stderr, "loadgen: heap profile:", err)
		}
	}
	t := &cr.total
	t.requests += m.requests
	t.errors += m.errors
	if t.firstErr == "" {
		t.firstErr = m.firstErr
	}
	t.elapsed += m.elapsed
	t.lat.Merge(m.lat)
	t.ttft.Merge(m.ttft)
	cr.rounds++
}

// cell is the cell's row, over every round.
func (cr *cellRun) cell() Cell {
	c := Cell{Path: cr.name, Concurrency: cr.conc, Baseline: cr.spec.baseline, NA: cr.na}
	if cr.na != "" {
		return c
	}
	m := cr.total
	c.Requests, c.Errors, c.FirstError = m.requests, m.errors, m.firstErr
	if m.elapsed > 0 {
		c.RPS = float64(m.requests) / m.elapsed.Seconds()
	}
	c.Latency = summarise(m.lat)
	if cr.spec.stream {
		t := summarise(m.ttft)
		c.TTFT = &t
	}
	return c
}

// fetch saves the admin port's path into file; a CPU profile's fetch
// lasts as long as the profile.
func fetch(ctx context.Context, adminAddr, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d (is the gateway running with -pprof?)", path, resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// measureMemory starts a slow simulator (each stream pauses after its
// first token) and a fresh gateway in front of it, holds o.streams streams
// open through it and reads its RSS.
func measureMemory(ctx context.Context, o options, dir, key string) (Memory, error) {
	mdir := filepath.Join(dir, "memory")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return Memory{}, err
	}
	sim, err := startSim(mdir, "llmsim-slow", filepath.Join(o.binDir, "llmsim"), "-inter-token", o.streamPause.String())
	if err != nil {
		return Memory{}, err
	}
	defer sim.stop()
	cfgDir := filepath.Join(mdir, "config")
	if err := writeConfig(o.configDir, cfgDir, sim.addr, config.HashKey(key)); err != nil {
		return Memory{}, err
	}
	g, err := startGateway(mdir, "gateway-memory", filepath.Join(o.binDir, "gateway"), cfgDir)
	if err != nil {
		return Memory{}, err
	}
	defer g.stop()
	return openStreams(ctx, g, key, o.streams, o.streamConns)
}
