// Command llmsim runs the provider simulator: an HTTP server that speaks the
// OpenAI Chat Completions and the Anthropic Messages wire formats with
// deterministic answers, configurable latency and injectable faults (see
// package [github.com/careerpath/llmgateway/providers/sim]).
//
// Point an OpenAI client at http://127.0.0.1:8090/v1 and an Anthropic client
// at http://127.0.0.1:8090. Latency, answer length and faults can be changed
// while it runs through /_sim/config and /_sim/fault.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/careerpath/llmgateway/providers/sim"
)

const usageText = `llmsim serves a simulated LLM provider speaking both the OpenAI Chat
Completions API (POST /v1/chat/completions, GET /v1/models) and the
Anthropic Messages API (POST /v1/messages), unary and streaming.

Usage:
  llmsim [flags]

Every flag falls back to the environment variable named in its help when it
is not given on the command line. Durations are Go durations such as 150ms.

Run-time control (JSON): GET/PUT/PATCH /_sim/config, GET/PUT/POST/DELETE
/_sim/fault, GET/DELETE /_sim/stats, GET /healthz. Example:
  curl -X PUT localhost:8090/_sim/fault -d '{"status":429,"retry_after":"2","count":3}'

Flags:
`

// options is the parsed command line.
type options struct {
	addr string
	cfg  sim.Config
}

// flagEnv maps each flag to its environment fallback.
var flagEnv = []struct{ flag, env string }{
	{"addr", "LLMSIM_ADDR"},
	{"latency", "LLMSIM_LATENCY"},
	{"ttft", "LLMSIM_TTFT"},
	{"inter-token", "LLMSIM_INTER_TOKEN"},
	{"answer-tokens", "LLMSIM_ANSWER_TOKENS"},
	{"require-api-key", "LLMSIM_REQUIRE_API_KEY"},
}

// parseFlags parses args, falling back to getenv for flags not given. Help
// and errors are written to out; -help returns flag.ErrHelp.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("llmsim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8090", "`host:port` to listen on (env LLMSIM_ADDR)")
	fs.DurationVar(&o.cfg.Latency, "latency", 0, "delay before a unary answer and before a stream's first byte (env LLMSIM_LATENCY)")
	fs.DurationVar(&o.cfg.TTFT, "ttft", 0, "extra time to first token of a stream (env LLMSIM_TTFT)")
	fs.DurationVar(&o.cfg.InterToken, "inter-token", 0, "delay between stream tokens (env LLMSIM_INTER_TOKEN)")
	fs.IntVar(&o.cfg.AnswerTokens, "answer-tokens", sim.DefaultAnswerTokens, "answer length in words (= output tokens) when max_tokens allows (env LLMSIM_ANSWER_TOKENS)")
	fs.StringVar(&o.cfg.RequireAPIKey, "require-api-key", "", "if set, require this `key` as Authorization: Bearer (OpenAI) or x-api-key (Anthropic) (env LLMSIM_REQUIRE_API_KEY)")
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, fe := range flagEnv {
		v := getenv(fe.env)
		if given[fe.flag] || v == "" {
			continue
		}
		if err := fs.Set(fe.flag, v); err != nil {
			return o, fmt.Errorf("%s: %w", fe.env, err)
		}
	}
	if err := o.cfg.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// serve runs the simulator on o.addr until ctx is done, then shuts down
// gracefully. ready, when not nil, is called with the listening address.
func serve(ctx context.Context, o options, logger *slog.Logger, ready func(addr string)) error {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", o.addr)
	if err != nil {
		return err
	}
	srv := sim.New(o.cfg)
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	addr := ln.Addr().String()
	logger.Info("llmsim listening",
		"addr", addr,
		"openai_base_url", "http://"+addr+"/v1",
		"anthropic_base_url", "http://"+addr,
		"latency", o.cfg.Latency.String(),
		"ttft", o.cfg.TTFT.String(),
		"inter_token", o.cfg.InterToken.String(),
		"answer_tokens", o.cfg.AnswerTokens,
		"require_api_key", o.cfg.RequireAPIKey != "",
	)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	if ready != nil {
		ready(addr)
	}
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("llmsim shutting down")
	srv.Close() // release hanging and delayed requests
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	if err != nil {
		_ = hs.Close()
	}
	if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

func main() {
	os.Exit(run())
}

// run is main with an exit code, so that deferred calls run.
func run() int {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		logger.Error("llmsim: bad arguments", "err", err.Error())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, o, logger, nil); err != nil {
		logger.Error("llmsim stopped", "err", err.Error())
		return 1
	}
	return 0
}
