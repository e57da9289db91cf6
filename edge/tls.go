package edge

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ClientAuth says whether the TLS listeners ask callers for a certificate.
type ClientAuth string

// The client certificate policies of [TLSOptions].
const (
	// ClientAuthRequire refuses a caller without a certificate signed by
	// the client CA.
	ClientAuthRequire ClientAuth = "require"
	// ClientAuthVerifyIfGiven accepts a caller without a certificate but
	// refuses one whose certificate the client CA did not sign.
	ClientAuthVerifyIfGiven ClientAuth = "verify-if-given"
)

// TLSOptions turn on TLS for the gRPC and HTTP listeners (the admin port
// stays plain HTTP for probes). The files are PEM; they are watched and
// reloaded when they change, and a replacement that does not load is
// logged and ignored: the last good certificate stays in use.
type TLSOptions struct {
	// CertFile and KeyFile are the server's certificate (chain) and key.
	// Empty: TLS is off.
	CertFile, KeyFile string
	// ClientCAFile, when set, holds the CA certificates that sign the
	// client certificates of service-to-service callers (mTLS).
	ClientCAFile string
	// ClientAuth is the client certificate policy when ClientCAFile is
	// set; empty means [ClientAuthRequire].
	ClientAuth ClientAuth
}

// Enabled reports whether TLS is configured.
func (o TLSOptions) Enabled() bool { return o.CertFile != "" || o.KeyFile != "" }

func (o TLSOptions) clientAuthType() (tls.ClientAuthType, error) {
	if o.ClientCAFile == "" {
		if o.ClientAuth != "" {
			return 0, fmt.Errorf("tls: client auth %q needs a client CA file", o.ClientAuth)
		}
		return tls.NoClientCert, nil
	}
	switch o.ClientAuth {
	case "", ClientAuthRequire:
		return tls.RequireAndVerifyClientCert, nil
	case ClientAuthVerifyIfGiven:
		return tls.VerifyClientCertIfGiven, nil
	default:
		return 0, fmt.Errorf("tls: client auth %q: want %q or %q", o.ClientAuth, ClientAuthRequire, ClientAuthVerifyIfGiven)
	}
}

// tlsMaterial is one consistent load of the TLS files.
type tlsMaterial struct {
	cert      *tls.Certificate
	clientCAs *x509.CertPool
}

// same reports whether m and o hold the same certificate chain and client
// CAs.
func (m *tlsMaterial) same(o *tlsMaterial) bool {
	if !slices.EqualFunc(m.cert.Certificate, o.cert.Certificate, bytes.Equal) {
		return false
	}
	if m.clientCAs == nil || o.clientCAs == nil {
		return m.clientCAs == o.clientCAs
	}
	return m.clientCAs.Equal(o.clientCAs)
}

// certReloader serves the current TLS material of a [TLSOptions] and
// reloads it when the files change.
type certReloader struct {
	opts       TLSOptions
	clientAuth tls.ClientAuthType
	log        *slog.Logger
	current    atomic.Pointer[tlsMaterial]

	watcher *fsnotify.Watcher
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// newCertReloader loads the files, failing when they do not, and watches
// their directories for changes.
func newCertReloader(opts TLSOptions, log *slog.Logger) (*certReloader, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("tls: both a certificate file and a key file are needed")
	}
	ca, err := opts.clientAuthType()
	if err != nil {
		return nil, err
	}
	r := &certReloader{opts: opts, clientAuth: ca, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	m, err := r.load()
	if err != nil {
		return nil, err
	}
	r.current.Store(m)
	if r.watcher, err = fsnotify.NewWatcher(); err != nil {
		return nil, fmt.Errorf("tls: watch files: %w", err)
	}
	dirs := map[string]bool{}
	for _, f := range []string{opts.CertFile, opts.KeyFile, opts.ClientCAFile} {
		if f != "" {
			dirs[filepath.Dir(f)] = true
		}
	}
	for d := range dirs {
		// Directories, not files: a file replaced by rename (or a mounted
		// secret's symlink swap) keeps being seen.
		if err := r.watcher.Add(d); err != nil {
			_ = r.watcher.Close()
			return nil, fmt.Errorf("tls: watch %s: %w", d, err)
		}
	}
	go r.watch()
	return r, nil
}

// load reads and checks every file. Errors name the file, never its
// contents.
func (r *certReloader) load() (*tlsMaterial, error) {
	certPEM, err := os.ReadFile(r.opts.CertFile)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.opts.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: %s and %s do not form a key pair: %w", r.opts.CertFile, r.opts.KeyFile, err)
	}
	m := &tlsMaterial{cert: &cert}
	if r.opts.ClientCAFile != "" {
		caPEM, err := os.ReadFile(r.opts.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: client CA: %w", err)
		}
		m.clientCAs = x509.NewCertPool()
		if !m.clientCAs.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("tls: client CA: %s holds no PEM certificate", r.opts.ClientCAFile)
		}
	}
	return m, nil
}

// reload swaps in the files' material, or logs why it keeps the old.
func (r *certReloader) reload() {
	m, err := r.load()
	if err != nil {
		r.log.Warn("TLS files not reloaded; keeping the last good certificate", "error", err.Error())
		return
	}
	if old := r.current.Load(); old.same(m) {
		return // another file in the directory changed
	}
	r.current.Store(m)
	attrs := []any{"cert", r.opts.CertFile}
	if m.cert.Leaf != nil {
		attrs = append(attrs, "subject", m.cert.Leaf.Subject.String(), "not_after", m.cert.Leaf.NotAfter)
	}
	r.log.Info("TLS certificate reloaded", attrs...)
}

// watch reloads after the watched directories have been quiet for a moment,
// so that a certificate and key written one after the other load together.
func (r *certReloader) watch() {
	defer close(r.done)
	const quiet = 100 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-r.stop:
			return
		case _, ok := <-r.watcher.Events:
			if !ok {
				return
			}
			timer.Reset(quiet)
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			r.log.Warn("TLS file watcher", "error", err.Error())
		case <-timer.C:
			r.reload()
		}
	}
}

// Close stops watching the files.
func (r *certReloader) Close() error {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		_ = r.watcher.Close()
	})
	return nil
}

// config returns a server TLS configuration offering nextProtos that uses
// the material current at each handshake.
func (r *certReloader) config(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := r.current.Load()
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{*m.cert},
				ClientCAs:    m.clientCAs,
				ClientAuth:   r.clientAuth,
				NextProtos:   nextProtos,
			}, nil
		},
	}
}
