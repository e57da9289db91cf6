// Package edge serves the gateway's core (package gateway): the gRPC
// listener and its interceptor chain, the grpc-gateway REST shim and the
// OpenAI- and Anthropic-compatible APIs (which call the service in process
// through the same chain), TLS, the admin HTTP endpoints, and graceful
// shutdown. What answers a request is the core's to decide.
package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/careerpath/llmgateway/console"
	"github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/telemetry"
)

// Options configure a [Server].
type Options struct {
	// GRPCAddr, HTTPAddr and AdminAddr are the listen addresses; port 0
	// picks a free port (see [Server.Addrs]).
	GRPCAddr, HTTPAddr, AdminAddr string
	// Limits bound requests; zero fields take [DefaultLimits].
	Limits Limits
	// ShutdownGrace is how long in-flight calls may run after shutdown
	// starts before they are cut off.
	ShutdownGrace time.Duration
	// ShutdownDelay is how long the server keeps serving new calls after
	// readiness turns off at shutdown, before it stops accepting them:
	// time for load balancers to notice. Zero stops at once.
	ShutdownDelay time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, is served at the admin port's /metrics.
	Metrics *telemetry.Metrics
	// ConfigDir is the configuration directory that reloads read; empty
	// for the embedded default configuration.
	ConfigDir string
	// Runtime is how reloaded configurations are built.
	Runtime gateway.RuntimeOptions
	// SyncStatus, when set, reports the config store sync on the admin
	// API's /admin/config.
	SyncStatus func() any
	// Service configures the gateway core: its stores, quota policy,
	// budget webhook and whether traces hold message text. Its Logger,
	// Metrics and Console are the edge's own, set by [New].
	Service gateway.Options
	// LogLevel, when set, is the level the admin API's /admin/log-level
	// shows and changes at runtime.
	LogLevel *slog.LevelVar
	// Pprof serves the Go runtime's profiles at the admin port's
	// /debug/pprof/ (for the load harness and for diagnosis; off by
	// default, like the rest of the admin port it is unauthenticated).
	Pprof bool
	// TLS, when enabled, serves the gRPC and HTTP listeners over TLS
	// (optionally mTLS), reloading the files when they change.
	TLS TLSOptions
	// HTTPTimeouts bound slow REST clients; zero fields take
	// [DefaultHTTPTimeouts].
	HTTPTimeouts HTTPTimeouts
	// Console, when set, is fed every finished call and served on the
	// admin port at /console/.
	Console *console.Console
	// AdminToken guards the admin port (all but /healthz, /readyz and
	// /metrics); empty lets only loopback clients in.
	AdminToken string
}

// Server runs the gateway's three listeners.
type Server struct {
	opts    Options
	log     *slog.Logger
	service *gateway.Service
	grpc    *grpc.Server
	health  *health.Server
	http    *http.Server
	admin   *http.Server
	local   *localClient  // the REST shim's and compatible APIs' way in
	tls     *certReloader // nil without TLS
	reload  *gateway.Reloader
	chain   Chain
	owned   []io.Closer // stores the server made itself, closed at shutdown
	stopper *callStopper

	grpcLn, httpLn, adminLn net.Listener
	ready                   atomic.Bool
	wg                      sync.WaitGroup
	serveErr                chan error
}

// streamWorkers is how many goroutines the gRPC server keeps to run calls.
const streamWorkers = 64

// New builds a server answering from rt. It does not listen yet, but its
// gRPC server's call workers run: end it with Shutdown once started (a
// Start that fails ends them itself). It fails when opts.Limits are looser
// than the contract's own rules allow.
func New(opts Options, rt *gateway.Runtime) (*Server, error) {
	if opts.Limits.MaxRequestBytes == 0 {
		opts.Limits.MaxRequestBytes = DefaultLimits.MaxRequestBytes
	}
	if opts.Limits.MaxMessages == 0 {
		opts.Limits.MaxMessages = DefaultLimits.MaxMessages
	}
	if opts.Limits.MaxTokens == 0 {
		opts.Limits.MaxTokens = DefaultLimits.MaxTokens
	}
	opts.Limits = opts.Limits.withRichDefaults()
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, serveErr: make(chan error, 3), stopper: newCallStopper()}

	validUnary, validStream, err := NewValidationInterceptors(opts.Limits)
	if err != nil {
		return nil, err
	}
	if opts.TLS.Enabled() {
		if s.tls, err = newCertReloader(opts.TLS, log); err != nil {
			return nil, err
		}
		s.owned = append(s.owned, s.tls)
	}
	var owned []io.Closer
	svc := opts.Service
	svc.Logger, svc.Metrics, svc.Console = log, opts.Metrics, opts.Console
	s.service, owned = gateway.New(rt, svc)
	s.owned = append(s.owned, owned...)
	quotaUnary, quotaStream := s.service.QuotaInterceptors()
	chain := defaultChain(log, s.service, opts.Metrics).
		Insert("auth", Interceptor{"validation", validUnary, validStream}).
		Insert("validation", Interceptor{"quota", quotaUnary, quotaStream}).
		Insert("logging", Interceptor{"shutdown", s.stopper.unary, s.stopper.stream})
	s.chain = chain
	sopts := append(chain.Options(),
		// Accept requests somewhat over the limit so that validation can
		// refuse them with InvalidArgument naming the limit, rather than
		// the transport's bare ResourceExhausted.
		grpc.MaxRecvMsgSize(opts.Limits.MaxRequestBytes+64<<10),
		// Calls run on long-lived goroutines whose stacks have already
		// grown to what a call needs, rather than on a new goroutine each,
		// whose stack grows by copying; a call that finds every worker
		// busy gets a goroutine of its own, as without workers.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.StatsHandler(rpcTraceHandler()),
	)
	if s.tls != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(s.tls.config("h2"))))
	}
	s.grpc = grpc.NewServer(sopts...)
	gatewayv1.RegisterLLMGatewayServer(s.grpc, s.service)
	s.local = newLocalClient(s.service, chain)
	s.health = health.NewServer()
	grpc_health_v1.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	if opts.Metrics != nil {
		opts.Metrics.GRPCServer().InitializeMetrics(s.grpc)
	}
	s.reload = gateway.NewReloader(opts.ConfigDir, s.service, opts.Runtime, log, opts.Metrics)
	s.reload.Notify(s.noteReload)
	s.noteReload(rt.Config, "", "start", nil)
	return s, nil
}

// Reloader returns the server's configuration reloader.
func (s *Server) Reloader() *gateway.Reloader { return s.reload }

// Service returns the gateway service, for swapping its runtime.
func (s *Server) Service() *gateway.Service { return s.service }

// Start opens the listeners and serves in the background. Serving errors
// are reported by [Server.Wait].
func (s *Server) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			s.grpc.Stop() // its call workers
		}
	}()
	var lc net.ListenConfig
	if s.grpcLn, err = lc.Listen(ctx, "tcp", s.opts.GRPCAddr); err != nil {
		return fmt.Errorf("listen gRPC on %s: %w", s.opts.GRPCAddr, err)
	}
	if s.httpLn, err = lc.Listen(ctx, "tcp", s.opts.HTTPAddr); err != nil {
		_ = s.grpcLn.Close()
		return fmt.Errorf("listen HTTP on %s: %w", s.opts.HTTPAddr, err)
	}
	if s.adminLn, err = lc.Listen(ctx, "tcp", s.opts.AdminAddr); err != nil {
		_ = s.grpcLn.Close()
		_ = s.httpLn.Close()
		return fmt.Errorf("listen admin on %s: %w", s.opts.AdminAddr, err)
	}

	rest, err := newRESTHandler(context.Background(), s.local, int64(s.opts.Limits.MaxRequestBytes))
	if err != nil {
		return err
	}
	timeouts := s.opts.HTTPTimeouts.withDefaults()
	s.http = &http.Server{
		Handler:           s.withCompat(tracedHTTP(rest, "llmgateway.rest")),
		ReadHeaderTimeout: timeouts.ReadHeader,
		ReadTimeout:       timeouts.Read,
		IdleTimeout:       timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.admin = &http.Server{
		Handler:           s.adminHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}

	s.serve("grpc", func() error { return s.grpc.Serve(s.grpcLn) })
	if s.tls != nil {
		s.http.TLSConfig = s.tls.config("h2", "http/1.1")
		s.serve("http", func() error { return s.http.ServeTLS(s.httpLn, "", "") })
	} else {
		s.serve("http", func() error { return s.http.Serve(s.httpLn) })
	}
	s.serve("admin", func() error { return s.admin.Serve(s.adminLn) })

	s.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(gatewayv1.LLMGateway_ServiceDesc.ServiceName, grpc_health_v1.HealthCheckResponse_SERVING)
	s.ready.Store(true)
	s.log.Info("gateway listening",
		"grpc", s.grpcLn.Addr().String(), "http", s.httpLn.Addr().String(), "admin", s.adminLn.Addr().String())
	return nil
}

func (s *Server) serve(name string, fn func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
			s.serveErr <- fmt.Errorf("%s server: %w", name, err)
		}
	}()
}

// Addrs returns the bound gRPC, HTTP and admin addresses.
func (s *Server) Addrs() (grpcAddr, httpAddr, adminAddr string) {
	return s.grpcLn.Addr().String(), s.httpLn.Addr().String(), s.adminLn.Addr().String()
}

// Err delivers the first serving error, if a listener fails.
func (s *Server) Err() <-chan error { return s.serveErr }

// Shutdown stops the server gracefully: readiness turns off first, new
// calls are refused, in-flight unary calls and streams may finish within
// the grace period; the calls still running then are ended with
// UNAVAILABLE (reason SHUTTING_DOWN; a REST stream gets it as its error
// event) and, after at most a second more to send it, whatever is left is
// cut off. It returns once every listener is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.health.Shutdown() // health checks now answer NOT_SERVING
	s.log.Info("shutting down", "delay", s.opts.ShutdownDelay.String(), "grace", s.opts.ShutdownGrace.String())
	if s.opts.ShutdownDelay > 0 {
		// Load balancers see not-ready at their next probe; until then
		// they may still send calls, which are served rather than
		// refused at a closed listener.
		t := time.NewTimer(s.opts.ShutdownDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}

	ctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownGrace)
	defer cancel()

	// Both listeners drain together under the one grace period; new gRPC
	// calls are refused from now on.
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	httpErr := s.http.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		// The grace period is over: the calls still running end with
		// UNAVAILABLE (a REST stream with its error event) and get a
		// moment to say so before the connections are cut.
		s.log.Warn("grace period over, ending remaining calls")
		s.stopper.stop()
		fctx, fcancel := context.WithTimeout(context.Background(), finalWindow)
		select {
		case <-done:
		case <-fctx.Done():
			s.grpc.Stop()
			<-done
		}
		if httpErr != nil && s.http.Shutdown(fctx) != nil {
			_ = s.http.Close()
		}
		fcancel()
	} else if httpErr != nil {
		_ = s.http.Close()
	}
	s.stopper.stop()
	// The in-process streams' server sides end once the stopper has
	// cancelled them, before what they queued is written.
	s.local.wait()
	s.service.CloseRecorders() // what the last answers queued is written
	adminErr := s.admin.Shutdown(context.Background())
	s.wg.Wait()
	for _, c := range s.owned {
		_ = c.Close()
	}
	s.owned = nil
	if httpErr != nil && !errors.Is(httpErr, context.DeadlineExceeded) {
		return httpErr
	}
	return adminErr
}
