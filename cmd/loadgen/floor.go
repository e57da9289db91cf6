package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// floorListening is the message the floor logs once it listens.
const floorListening = "floor listening"

// newFloor is the thinnest Go proxy there is: httputil.ReverseProxy in
// front of upstream, with a keep-alive pool as large as the gateway's own
// provider transport. Server-sent events are flushed as they arrive
// (ReverseProxy does so for text/event-stream).
//
// The request body is read whole before it is forwarded, as the gateway
// reads its own: an HTTP/1 server closes a request body that is still
// being streamed upstream when the response starts, and the transport then
// drops the upstream connection mid-answer (golang/go#40747), which cut
// about one stream in a hundred short.
func newFloor(upstream *url.URL, log *slog.Logger) http.Handler {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		Transport: t,
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFloorBody))
		if err != nil {
			http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	})
}

// maxFloorBody bounds the requests the floor buffers, as the gateway's
// -max-request-bytes does.
const maxFloorBody = 1 << 20

// runFloor is the floor subcommand: it serves the proxy until SIGTERM.
func runFloor(args []string) error {
	fs := flag.NewFlagSet("loadgen floor", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	up := fs.String("upstream", "", "upstream base URL, e.g. http://127.0.0.1:8090")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*up)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("-upstream %q: want an absolute http URL", *up)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: newFloor(u, log), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info(floorListening, "addr", ln.Addr().String(), "upstream", u.String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
