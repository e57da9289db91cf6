// Command gateway runs the LLM gateway: the LLMGateway gRPC service, its REST
// shim and the admin endpoints.
//
// With no configuration directory it runs the embedded default
// configuration, whose routes are answered by an in-process simulator, so
// it works with no API keys and no Redis. Every flag can also be set by an
// environment variable: LLMGW_ followed by the flag name in upper case with
// dashes as underscores (e.g. LLMGW_GRPC_ADDR).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing/fstest"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/redis/go-redis/v9"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/config/remote"
	"github.com/careerpath/llmgateway/console"
	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/edge"
	"github.com/careerpath/llmgateway/experiment"
	"github.com/careerpath/llmgateway/gateway"
	"github.com/careerpath/llmgateway/internal/gctune"
	"github.com/careerpath/llmgateway/internal/jsonlog"
	"github.com/careerpath/llmgateway/internal/logwriter"
	"github.com/careerpath/llmgateway/quota"
	"github.com/careerpath/llmgateway/telemetry"
	"github.com/careerpath/llmgateway/usage"

	// Provider backends register themselves by kind.
	_ "github.com/careerpath/llmgateway/providers/anthropic"
	_ "github.com/careerpath/llmgateway/providers/bedrock"
	_ "github.com/careerpath/llmgateway/providers/gemini"
	_ "github.com/careerpath/llmgateway/providers/openai"
	_ "github.com/careerpath/llmgateway/providers/sim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	var (
		grpcAddr  = fs.String("grpc-addr", "127.0.0.1:50051", "gRPC listen address")
		httpAddr  = fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address (REST shim)")
		adminAddr = fs.String("admin-addr", "127.0.0.1:9090", "admin listen address (/healthz, /readyz)")
		configDir = fs.String("config-dir", "", "directory holding provider_settings.json and ab_test_config.json (empty: the embedded default, answered by the simulator unless OPENAI_API_KEY / ANTHROPIC_API_KEY are set)")
		logLevel  = fs.String("log-level", "info", "log level: debug, info, warn or error")
		maxBytes  = fs.Int("max-request-bytes", edge.DefaultLimits.MaxRequestBytes, "largest accepted request in bytes")
		maxMsgs   = fs.Int("max-messages", edge.DefaultLimits.MaxMessages, "most messages in one request")
		maxTokens = fs.Int("max-tokens", edge.DefaultLimits.MaxTokens, "ceiling for a request's max_tokens")
		maxTools  = fs.Int("max-tools", edge.DefaultLimits.MaxTools, "most tools in one request")
		maxSchema = fs.Int("max-schema-bytes", edge.DefaultLimits.MaxSchemaBytes, "largest JSON Schema (tool parameters, response format) in bytes")
		maxImage  = fs.Int("max-image-bytes", edge.DefaultLimits.MaxImageBytes, "largest inline image in bytes (the request stays within -max-request-bytes)")
		maxParts  = fs.Int("max-parts", edge.DefaultLimits.MaxParts, "most content parts in one message")
		grace     = fs.Duration("shutdown-grace", 30*time.Second, "how long in-flight calls may finish after SIGTERM")
		delay     = fs.Duration("shutdown-delay", 0, "after SIGTERM, how long to keep accepting calls with readiness already off, so load balancers can stop sending them (then -shutdown-grace applies)")
		debounce  = fs.Duration("config-debounce", 250*time.Millisecond, "quiet time after a config file change before reloading")
		source    = fs.String("config-source", "", "remote config store synced into -config-dir: https://… (ETag polling; GitHub raw, S3 objects), s3://bucket/prefix, gs://bucket/prefix or file:///path")
		tokenEnv  = fs.String("config-source-token-env", "", "environment variable holding the config store's auth token (sent as Authorization)")
		syncEvery = fs.Duration("config-sync-interval", 30*time.Second, "how often the config store is polled")
		newKey    = fs.Bool("new-api-key", false, "print a new client API key and the key_sha256 to put in clients.json, then exit")
		redisAddr = fs.String("redis-addrs", "", "Redis for state shared by replicas (answer cache, experiments): host:port, or a comma-separated list for Cluster; empty keeps state in memory")
		redisPass = fs.String("redis-password-env", "", "environment variable holding the Redis password")
		cacheMax  = fs.Int64("cache-max-bytes", 64<<20, "size of the in-memory answer cache")
		webhook   = fs.String("budget-webhook", "", "URL that receives a JSON POST when a budget crosses 80% or 100% of its limit")
		failClose = fs.Bool("quota-fail-closed", false, "refuse requests when the quota store (Redis) cannot be reached; by default the gateway keeps serving with local limits")
		traceText = fs.Bool("trace-content", false, "record prompts and answers on trace spans (gen_ai.input.messages / gen_ai.output.messages); off: traces never hold message text")
		heapFloor = fs.Int64("gc-heap-floor", 64<<20, "bytes the heap may reach before the garbage collector runs, however little is live (GOGC=100 collects at twice the live heap, many times a second on a gateway's small heap); 0, or GOGC set in the environment, leaves the collector as GOGC says")
		withPprof = fs.Bool("pprof", false, "serve Go runtime profiles at the admin port's /debug/pprof/")
		tlsCert   = fs.String("tls-cert", "", "PEM certificate (chain) for the gRPC and HTTP listeners; with -tls-key turns TLS on (reloaded when the file changes)")
		tlsKey    = fs.String("tls-key", "", "PEM private key for -tls-cert")
		tlsCA     = fs.String("tls-client-ca", "", "PEM CA certificates that sign client certificates: turns on mTLS on the gRPC and HTTP listeners")
		tlsAuth   = fs.String("tls-client-auth", "", "with -tls-client-ca: require (default) or verify-if-given")
		redisName = fs.String("redis-master-name", "", "Redis Sentinel master name: -redis-addrs are then the sentinels")
		sentPass  = fs.String("redis-sentinel-password-env", "", "with -redis-master-name: environment variable holding the Sentinels' own password (their requirepass; may name the same variable as -redis-password-env)")
		redisClus = fs.Bool("redis-cluster", false, "treat a single -redis-addrs address as a Redis Cluster endpoint (several addresses always are a Cluster)")
		adminEnv  = fs.String("admin-token-env", "", "environment variable holding the admin token that the console and the admin endpoints require (all but /healthz, /readyz, /metrics); without it they answer loopback clients only")
	)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: gateway [flags]\n\nRuns the LLM gateway. Every flag may also be set as LLMGW_<FLAG> in the environment\n(e.g. LLMGW_GRPC_ADDR=0.0.0.0:50051).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix("LLMGW")); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	if *newKey {
		key, hash := config.NewKey()
		_, err := fmt.Fprintf(os.Stdout, "api key (give it to the client; it is not stored anywhere): %s\nkey_sha256 (put it in clients.json): %s\n", key, hash)
		return err
	}

	if *heapFloor > 0 && os.Getenv("GOGC") == "" {
		defer gctune.Start(uint64(*heapFloor)).Stop()
	}

	// The level can be changed at runtime on the admin port (/admin/log-level).
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	// Lines go out from one goroutine, many per write when busy; what is
	// queued is written before run returns.
	logOut := logwriter.New(os.Stderr)
	defer func() { _ = logOut.Close() }()
	log := slog.New(jsonlog.New(logOut, &slog.HandlerOptions{Level: level}))
	useRedisLogger(log)
	stopTracing, err := setupTracing(ctx, getenv, log)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() { _ = stopTracing(context.Background()) }()

	var syncer *remote.Syncer
	if *source != "" {
		if *configDir == "" {
			return errors.New("-config-source needs -config-dir to sync into")
		}
		var err error
		if syncer, err = startSync(ctx, *source, *configDir, *tokenEnv, *syncEvery, log); err != nil {
			return err
		}
		defer func() { _ = syncer.Close() }()
	}

	var cfg *config.Config
	if *configDir == "" {
		cfg, err = config.Default(getenv)
	} else {
		cfg, err = config.Load(*configDir)
	}
	if err != nil {
		return fmt.Errorf("configuration refused: %w", err)
	}
	metrics := telemetry.NewMetrics()
	stores, closeStores := openStores(*redisAddr, *redisName, *redisClus, getenv(*redisPass), getenv(*sentPass), *cacheMax, metrics)
	defer closeStores()
	if *redisAddr != "" {
		log.Info("shared state in Redis", "addrs", *redisAddr, "master_name", *redisName)
	}
	cons := console.New(console.Options{})
	rtOpts := gateway.RuntimeOptions{Getenv: getenv, Observer: cons.Observe(gateway.LogBreakers(log, metrics)), Cooldowns: stores.cooldowns}
	rt, err := gateway.BuildRuntime(cfg, rtOpts)
	if err != nil {
		return fmt.Errorf("configuration refused: %w", err)
	}
	from := *configDir
	if from == "" {
		from = "embedded default"
	}
	log.Info("configuration loaded", "source", from, "version", cfg.Version,
		"providers", len(rt.Providers), "routes", rt.Router.Routes())
	if rt.Keys.Disabled() {
		log.Warn("AUTHENTICATION IS DISABLED: no clients.json (or \"auth\": {\"disabled\": true}); " +
			"every caller is \"anonymous\" with every permission. Use this for local development only.")
	}

	adminToken := ""
	if *adminEnv != "" {
		if adminToken = getenv(*adminEnv); adminToken == "" {
			return fmt.Errorf("-admin-token-env: environment variable %s is empty or not set", *adminEnv)
		}
	} else {
		log.Warn("no admin token (-admin-token-env): the console and the admin endpoints answer loopback clients only")
	}

	srv, err := edge.New(edge.Options{
		GRPCAddr: *grpcAddr, HTTPAddr: *httpAddr, AdminAddr: *adminAddr,
		Limits: edge.Limits{MaxRequestBytes: *maxBytes, MaxMessages: *maxMsgs, MaxTokens: *maxTokens,
			MaxTools: *maxTools, MaxSchemaBytes: *maxSchema, MaxImageBytes: *maxImage, MaxParts: *maxParts},
		ShutdownGrace: *grace,
		ShutdownDelay: *delay,
		Logger:        log,
		Metrics:       metrics,
		ConfigDir:     *configDir,
		Runtime:       rtOpts,
		SyncStatus:    syncStatus(syncer),
		Service: gateway.Options{Cache: stores.cache, Experiments: stores.experiments, Quota: stores.quota,
			Usage: stores.usage, QuotaFailClosed: *failClose, BudgetWebhook: *webhook, TraceContent: *traceText},
		LogLevel:   level,
		Pprof:      *withPprof,
		Console:    cons,
		AdminToken: adminToken,
		TLS: edge.TLSOptions{CertFile: *tlsCert, KeyFile: *tlsKey, ClientCAFile: *tlsCA,
			ClientAuth: edge.ClientAuth(*tlsAuth)},
	}, rt)
	if err != nil {
		return err
	}
	defer srv.Service().Close()

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if syncer != nil {
		go syncer.Run(ctx)
	}
	if *configDir != "" {
		go func() {
			if err := srv.Reloader().Watch(ctx, *debounce); err != nil {
				log.Error("configuration watcher stopped", "error", err.Error())
			}
		}()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			if _, err := srv.Reloader().Reload(ctx, "SIGHUP"); errors.Is(err, gateway.ErrNoConfigDir) {
				log.Warn("SIGHUP ignored: " + err.Error())
			}
		case err := <-srv.Err():
			log.Error("listener failed", "error", err)
			_ = srv.Shutdown(context.Background())
			return err
		}
	}
	stop()
	if err := srv.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// startSync opens the config store and syncs it into dir once, so that the
// gateway starts on the store's configuration. A store that cannot be
// reached at start is tolerated when dir already holds a configuration.
func startSync(ctx context.Context, url, dir, tokenEnv string, every time.Duration, log *slog.Logger) (*remote.Syncer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	src, err := remote.Open(ctx, url, remote.Options{AuthEnv: tokenEnv})
	if err != nil {
		return nil, fmt.Errorf("-config-source: %w", err)
	}
	s, err := remote.NewSyncer(src, dir, remote.SyncOptions{
		Files:    append(remote.DefaultFiles(), remote.File{Name: config.ClientsFile, Optional: true}),
		Interval: every,
		Logger:   log,
		Validate: func(files map[string][]byte) error { return validateSet(dir, files) },
	})
	if err != nil {
		_ = src.Close()
		return nil, err
	}
	if _, err := s.SyncOnce(ctx); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, config.ProviderSettingsFile)); statErr != nil {
			_ = s.Close()
			return nil, fmt.Errorf("config store %s: %w", src, err)
		}
		log.Warn("config store unreachable at start; using the configuration already in the directory",
			"source", src.String(), "error", err.Error())
	}
	return s, nil
}

// validateSet loads the configuration a sync would leave in dir (its
// current files overlaid with the synced set), so that an invalid set
// never reaches the directory.
func validateSet(dir string, files map[string][]byte) error {
	fsys := fstest.MapFS{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			fsys[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	for name, b := range files {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	for _, optional := range []string{config.RateLimitsFile, config.ClientsFile} {
		if _, ok := files[optional]; !ok {
			delete(fsys, optional) // the store no longer has it
		}
	}
	_, err = config.LoadFS(fsys)
	return err
}

func syncStatus(s *remote.Syncer) func() any {
	if s == nil {
		return nil
	}
	return func() any { return s.Status() }
}

type stores struct {
	cache       cache.Store
	experiments experiment.Store
	quota       quota.Store
	usage       usage.Store
	cooldowns   cooldown.Store
}

// openStores builds the answer cache, quota and experiment stores: in
// memory, or in Redis when addrs is set, so that replicas share them.
// go-redis's UniversalClient picks the client: with masterName, a Sentinel
// failover client whose addrs are the sentinels; else one address is a
// single node (a Cluster with cluster set) and several are a Cluster's seed
// nodes. password authenticates to the Redis nodes, sentinelPassword to the
// sentinels. Redis operations have short timeouts:
// a slow or absent Redis degrades to cache misses, never to stuck requests.
func openStores(addrs, masterName string, cluster bool, password, sentinelPassword string, cacheMax int64, m *telemetry.Metrics) (stores, func()) {
	if addrs == "" {
		mem := cache.NewMemoryStore(cache.MemoryOptions{MaxBytes: cacheMax, Observer: m.CacheObserver()})
		return stores{cache: mem, cooldowns: cooldown.NewMemoryStore()}, func() { _ = mem.Close() }
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 strings.Split(addrs, ","),
		MasterName:            masterName,
		IsClusterMode:         cluster && masterName == "",
		Password:              password,
		SentinelPassword:      sentinelPassword,
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		ReadTimeout:           250 * time.Millisecond,
		WriteTimeout:          250 * time.Millisecond,
	})
	m.RedisUp(func(ctx context.Context) error { return client.Ping(ctx).Err() }, "cache", "experiments", "quota")
	return stores{
		cache:       cache.NewRedisStore(client, cache.RedisOptions{Observer: m.CacheObserver()}),
		experiments: experiment.NewRedisStore(client, experiment.RedisOptions{}),
		quota:       quota.NewRedisStore(client, quota.RedisOptions{}),
		usage:       usage.NewRedisStore(client, usage.RedisOptions{}),
		cooldowns:   cooldown.NewRedisStore(client, cooldown.RedisOptions{}),
	}, func() { _ = client.Close() }
}
