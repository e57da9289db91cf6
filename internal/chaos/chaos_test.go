package chaos_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/internal/redistest"
)

var (
	soakDuration = flag.Duration("chaos.duration", 90*time.Second, "how long the chaos soak runs")
	soakWorkers  = flag.Int("chaos.workers", 4, "clients of each kind (gRPC Complete, gRPC Stream, REST complete; half as many REST streams)")
	soakLogs     = flag.String("chaos.logs", "", "directory to keep the processes' logs and configurations in (default: a temporary one, removed)")
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Bounds of the assertions.
const (
	// deadlineSlack is how far past its deadline a call may end: the
	// client's own scheduling on a loaded 2-core machine, not the gateway.
	deadlineSlack = time.Second
	// failFast bounds a call refused by a stopped replica.
	failFast = time.Second
	// rssGrowth and rssSlack bound a surviving replica's RSS at the end
	// relative to the start (after warm-up): end ≤ start × rssGrowth +
	// rssSlack. The Go heap may legitimately grow to twice its live size
	// before a collection (GOGC=100) and freed pages are returned to the
	// OS lazily, so some growth is noise; a leak of a few KiB per request
	// over the thousands of requests a replica serves, or of the buffers of
	// abandoned upstream calls, is not.
	rssGrowth = 1.5
	rssSlack  = 32 << 20
	// goroutineSlack bounds the goroutines a surviving replica may have
	// gained once the load has stopped (connections re-dialled after the
	// faults, idle pools); one leaked goroutine per request or per failed
	// attempt would be thousands.
	goroutineSlack = 100
)

func TestChaosSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos soak is skipped with -short; `make chaos` runs it")
	}
	t.Cleanup(adminTransport.CloseIdleConnections)
	gwBin, simBin := buildBinaries(t)
	dir := *soakLogs
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rdb := redistest.StartServer(t)
	primary := startSim(t, simBin, dir, "primary", primaryKey)
	backup := startSim(t, simBin, dir, "backup", backupKey)
	key, hash := config.NewKey()
	reps := make([]*replica, 3)
	for i := range reps {
		reps[i] = startReplica(t, gwBin, dir, i, primary, backup, hash, rdb.Addr())
	}
	l, err := newLoad(key, reps)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	c := &chaos{t: t, start: time.Now(), load: l, primary: primary, backup: backup, redis: rdb, term: -1}
	c.end = c.start.Add(*soakDuration)
	l.start(map[string]int{kindComplete: *soakWorkers, kindStream: *soakWorkers, kindREST: *soakWorkers,
		kindSSE: max(1, *soakWorkers/2)})
	stopped := false
	defer func() {
		if !stopped { // a failed step: stop the clients before the processes go
			l.stopAndWait(15 * time.Second)
		}
	}()

	// Warm up, then take the replicas' baseline.
	time.Sleep(min(10*time.Second, *soakDuration/9))
	starts := map[int]sample{}
	for _, r := range reps {
		starts[r.idx] = r.sample(t)
	}
	c.run()

	stopped = true
	maxDeadline := max(deadlines[kindComplete], deadlines[kindStream], deadlines[kindREST], deadlines[kindSSE])
	if !l.stopAndWait(maxDeadline + deadlineSlack + 5*time.Second) {
		t.Errorf("clients still waiting for calls %v after the load stopped", maxDeadline+deadlineSlack+5*time.Second)
	}
	rep := report{duration: time.Since(c.start), events: c.events, results: l.snapshot(),
		sent: l.sent.Load(), finished: l.finished.Load(), term: c.term, starts: starts, ends: map[int]sample{}}
	rep.lost = rep.sent - rep.finished

	// Server-side counts: every call a replica handled is one "finished
	// call" line of its log. A call's line is written before its status is
	// sent, except when the client gave up first; wait for those.
	rep.server = map[int]int{}
	waitUntil(5*time.Second, func() bool {
		all := true
		for _, tg := range l.targets {
			calls, err := tg.r.handledCalls()
			if err != nil {
				t.Fatal(err)
			}
			n := calls["Complete"] + calls["Stream"]
			rep.server[tg.r.idx] = n
			if int64(n) != tg.sent.Load() && tg.r.idx != c.term {
				all = false
			}
		}
		return all
	})
	for _, tg := range l.targets {
		rep.client = append(rep.client, tg.sent.Load())
	}
	for _, r := range reps {
		if r.idx != c.term {
			rep.ends[r.idx] = r.sample(t)
		}
	}
	rep.faults = primary.faultsInjected(t)
	t.Log(rep.String())

	c.checkResults(rep)
	c.checkCounts(rep)
	c.checkMemory(rep)
	if rep.faults["status"] == 0 || rep.faults["hang"] == 0 {
		t.Errorf("the primary's faults hit no request: %v", rep.faults)
	}
	if rep.classes()["ok BACKUP"] == 0 {
		t.Errorf("no answer came from the backup provider")
	}

	// The surviving replicas shut down cleanly too, idle.
	for _, r := range reps {
		if r.idx == c.term {
			continue
		}
		if err := r.signal(syscall.SIGTERM); err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		if code, ok := r.wait(shutdownGrace + 5*time.Second); !ok || code != 0 {
			t.Errorf("%s: exit code %d after SIGTERM (exited: %v)", r.name, code, ok)
		}
	}
	for _, p := range []*proc{reps[0].proc, reps[1].proc, reps[2].proc, primary.proc, backup.proc} {
		for _, s := range p.problemsInLog() {
			t.Error(s)
		}
	}
}

// adminTransport carries the harness's own calls to the admin ports and
// the simulators' control endpoints.
var adminTransport = &http.Transport{MaxIdleConnsPerHost: 4}

// event is one fault injected, for the report.
type event struct {
	at, until time.Duration
	what      string
}

// chaos injects the faults, on a schedule, from the test's goroutine.
type chaos struct {
	t               *testing.T
	start, end      time.Time
	load            *load
	primary, backup *simulator
	redis           *redistest.Server
	events          []event
	reloads         int

	// term is the replica sent SIGTERM (-1 before); sigtermAt and exitAt
	// are when it was signalled and when it had exited.
	term              int
	sigtermAt, exitAt time.Time
	drainedAt         time.Duration
	sawNotReady       bool
}

// cycleLen is about how long one round of faults takes.
const cycleLen = 37 * time.Second

// run injects rounds of faults while there is time for one, then lets the
// load run quietly until the end. The first round ends by stopping a
// replica with SIGTERM while streams are in flight.
func (c *chaos) run() {
	for round := 0; round == 0 || time.Until(c.end) > cycleLen; round++ {
		c.flap()
		c.quiet(3 * time.Second)
		c.hang()
		c.quiet(3 * time.Second)
		c.redisOutage()
		c.badThenGoodConfig(c.surviving()[round%len(c.surviving())])
		c.quiet(3 * time.Second)
		if round == 0 {
			c.terminate(c.load.targets[len(c.load.targets)-1])
		}
	}
	c.quiet(time.Until(c.end))
}

// surviving lists the replicas still running.
func (c *chaos) surviving() []*replica {
	var out []*replica
	for _, tg := range c.load.targets {
		if !tg.r.exited() {
			out = append(out, tg.r)
		}
	}
	return out
}

func (c *chaos) quiet(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

func (c *chaos) record(from time.Time, what string) {
	c.events = append(c.events, event{at: from.Sub(c.start), until: time.Since(c.start), what: what})
}

// flap makes the primary fail with 503 in bursts, and the backup fail
// some of the time meanwhile, so that some calls run out of providers.
// Between bursts the primary cuts some answers short: streams after their
// first tokens reached the client, which must then end with an error
// status, never a clean end.
func (c *chaos) flap() {
	from := time.Now()
	for range 4 {
		c.primary.fault(c.t, `{"status": 503}`)
		c.backup.fault(c.t, `{"status": 503, "probability": 0.3}`)
		time.Sleep(1500 * time.Millisecond)
		c.primary.fault(c.t, `{"disconnect_after_tokens": 5, "probability": 0.2}`)
		c.backup.fault(c.t, "")
		time.Sleep(1500 * time.Millisecond)
	}
	c.primary.fault(c.t, "")
	c.record(from, "primary flapping: 503 bursts of 1.5s (backup 503 30% meanwhile), between them 20% of answers cut after 5 tokens")
}

// hang makes the primary accept requests and never answer.
func (c *chaos) hang() {
	from := time.Now()
	c.primary.fault(c.t, `{"hang": true}`)
	time.Sleep(5 * time.Second)
	c.primary.fault(c.t, "")
	c.record(from, "primary hanging for 5s")
}

// redisOutage kills Redis and restarts it, empty, on the same port. The
// replicas must notice (store errors counted) and, once it is back, use it
// again: no new store errors after a moment.
func (c *chaos) redisOutage() {
	from := time.Now()
	before := c.storeErrors()
	c.redis.Kill()
	time.Sleep(3 * time.Second)
	c.redis.Restart()
	time.Sleep(2 * time.Second)
	during := c.storeErrors()
	time.Sleep(3 * time.Second)
	after := c.storeErrors()
	if during <= before {
		c.t.Errorf("the replicas counted no cache or quota store error while Redis was down")
	}
	if after > during {
		c.t.Errorf("the replicas still fail to use Redis 2s after it came back: %v store errors in 3s", after-during)
	}
	c.record(from, fmt.Sprintf("Redis SIGKILL, restarted empty on the same port after 3s (%v store errors, none 2s after)", during-before))
}

// storeErrors adds up the running replicas' cache and quota store errors.
func (c *chaos) storeErrors() float64 {
	var n float64
	for _, r := range c.surviving() {
		m := r.metrics(c.t)
		n += metricSum(m, "llmgateway_cache_errors_total", nil) + metricSum(m, "llmgateway_quota_store_errors_total", nil)
	}
	return n
}

// badThenGoodConfig replaces r's routes with an invalid file, which must be
// refused with the last good configuration kept, then with a valid
// changed one, which must be applied.
func (c *chaos) badThenGoodConfig(r *replica) {
	t := c.t
	from := time.Now()
	before := r.configStatus(t)
	failed := func() float64 {
		return metricSum(r.metrics(t), "llmgateway_config_reloads_total", map[string]string{"result": "failed"})
	}
	failedBefore := failed()
	writeAtomic(t, r.dir, config.ABTestConfigFile, invalidRoutes)
	if !waitUntil(10*time.Second, func() bool { return r.configStatus(t).Failures > before.Failures }) {
		t.Errorf("%s: the invalid configuration was not refused within 10s", r.name)
	}
	st := r.configStatus(t)
	if st.Version != before.Version || st.LastError == "" {
		t.Errorf("%s after an invalid configuration: version %s (was %s), last error %q",
			r.name, st.Version, before.Version, st.LastError)
	}
	if f := failed(); f <= failedBefore {
		t.Errorf("%s: llmgateway_config_reloads_total{result=\"failed\"} = %v, was %v", r.name, f, failedBefore)
	}
	c.reloads++
	writeAtomic(t, r.dir, config.ABTestConfigFile, routes(fmt.Sprintf("The assistant is busy (%d).", c.reloads)))
	if !waitUntil(10*time.Second, func() bool {
		s := r.configStatus(t)
		return s.Version != before.Version && s.LastError == ""
	}) {
		t.Errorf("%s: the valid configuration was not applied within 10s: %+v", r.name, r.configStatus(t))
	}
	c.record(from, r.name+": invalid routes refused (old version kept), then a valid change applied")
}

// terminate sends tg's replica SIGTERM while streams are in flight on it,
// then waits for it to drain and exit 0.
func (c *chaos) terminate(tg *target) {
	t := c.t
	r := tg.r
	from := time.Now()
	if !waitUntil(5*time.Second, func() bool { return tg.activeStreams.Load() >= 2 }) {
		t.Errorf("%s: no streams in flight to stop it under", r.name)
	}
	c.term = r.idx
	inFlight := tg.activeStreams.Load()
	c.sigtermAt = time.Now()
	if err := r.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	// Readiness turns off first, while the in-flight calls drain.
	for !r.exited() {
		if code := r.readyStatus(); code != http.StatusOK {
			c.sawNotReady = code == http.StatusServiceUnavailable
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	code, ok := r.wait(shutdownGrace + 5*time.Second)
	c.exitAt = time.Now()
	c.drainedAt = c.exitAt.Sub(c.sigtermAt)
	if !ok || code != 0 {
		t.Errorf("%s: exit code %d after SIGTERM (exited: %v); its log:\n%s", r.name, code, ok, r.tail())
	}
	if c.drainedAt > shutdownGrace {
		t.Errorf("%s took %v to stop, longer than its grace period %v", r.name, c.drainedAt, shutdownGrace)
	}
	c.record(from, fmt.Sprintf("%s SIGTERM with %d streams in flight; exited %d after %v",
		r.name, inFlight, code, c.drainedAt.Round(time.Millisecond)))
}
