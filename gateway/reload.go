package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/telemetry"
)

// ReloadStatus is what the admin API shows about configuration.
type ReloadStatus struct {
	// Source is the configuration directory ("" for the embedded default).
	Source string `json:"source"`
	// Version is the active configuration's content hash.
	Version string `json:"version"`
	// LoadedAt is when the active configuration was loaded.
	LoadedAt time.Time `json:"loaded_at"`
	// LastAttempt is when a reload was last tried, and LastError why it was
	// refused, if it was.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// Reloads and Failures count reload attempts that swapped in a new
	// configuration and that were refused.
	Reloads  int64 `json:"reloads"`
	Failures int64 `json:"failures"`
}

// Reloader loads a configuration directory again when asked (SIGHUP, the
// admin endpoint) or when its files change, builds the whole new runtime
// and swaps it in atomically. A configuration that fails to load or build
// is refused, logged and counted, and the last good one stays live: a
// reload never half-applies.
type Reloader struct {
	dir     string
	svc     *Service
	opts    RuntimeOptions
	log     *slog.Logger
	metrics *telemetry.Metrics

	mu     sync.Mutex // one reload at a time
	status atomic.Pointer[ReloadStatus]
	// notify, when set, hears of every reload that applied a configuration
	// or was refused (live is the version that stays live).
	notify func(cfg *config.Config, live, reason string, err error)
}

// Notify makes f hear of every reload that applied a configuration (cfg,
// err nil) or was refused (cfg nil, live the version that stays live).
// Call it before the first reload.
func (r *Reloader) Notify(f func(cfg *config.Config, live, reason string, err error)) {
	r.notify = f
}

// NewReloader returns a reloader of dir into svc. dir may be "" (the
// embedded default configuration), in which case reloads only report that
// there is nothing to reload.
func NewReloader(dir string, svc *Service, opts RuntimeOptions, log *slog.Logger, m *telemetry.Metrics) *Reloader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{dir: dir, svc: svc, opts: opts, log: log, metrics: m}
	rt := svc.Runtime()
	r.status.Store(&ReloadStatus{Source: dir, Version: rt.Config.Version, LoadedAt: rt.LoadedAt})
	if m != nil {
		m.ConfigActive(rt.Config.Version, rt.LoadedAt)
	}
	return r
}

// ErrNoConfigDir is returned by Reload when the gateway runs the embedded
// default configuration.
var ErrNoConfigDir = errors.New("no configuration directory: the embedded default cannot be reloaded")

// Status returns the reload status.
func (r *Reloader) Status() ReloadStatus { return *r.status.Load() }

// Reload loads the directory and, if it is valid and differs from the
// active configuration, swaps it in. It reports whether it swapped.
func (r *Reloader) Reload(ctx context.Context, reason string) (changed bool, err error) {
	if r.dir == "" {
		return false, ErrNoConfigDir
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := *r.status.Load()
	st.LastAttempt = time.Now()
	defer func() {
		if err != nil {
			st.LastError = err.Error()
			st.Failures++
			r.count("failed")
			r.log.ErrorContext(ctx, "configuration reload refused; the last good configuration stays live",
				"reason", reason, "dir", r.dir, "version", st.Version, "error", err.Error())
			if r.notify != nil {
				r.notify(nil, st.Version, reason, err)
			}
		}
		r.status.Store(&st)
	}()

	version, err := config.Version(os.DirFS(r.dir))
	if err != nil {
		return false, fmt.Errorf("read %s: %w", r.dir, err)
	}
	if version == st.Version {
		st.LastError = ""
		r.count("unchanged")
		return false, nil
	}
	cfg, err := config.Load(r.dir)
	if err != nil {
		return false, err
	}
	opts := r.opts
	opts.Previous = r.svc.Runtime() // unchanged providers keep their state
	rt, err := BuildRuntime(cfg, opts)
	if err != nil {
		return false, err
	}
	r.svc.Swap(rt)
	st.Version, st.LoadedAt, st.LastError = cfg.Version, rt.LoadedAt, ""
	st.Reloads++
	r.count("ok")
	if r.metrics != nil {
		r.metrics.ConfigActive(cfg.Version, rt.LoadedAt)
	}
	r.log.InfoContext(ctx, "configuration reloaded", "reason", reason, "dir", r.dir, "version", cfg.Version)
	if r.notify != nil {
		r.notify(cfg, cfg.Version, reason, nil)
	}
	return true, nil
}

func (r *Reloader) count(result string) {
	if r.metrics != nil {
		r.metrics.ConfigReload(result)
	}
}

// Watch reloads whenever a file in the directory changes, until ctx is
// done. Changes are debounced: an editor's or a sync's burst of writes and
// renames becomes one reload. The directory itself is watched, not its
// files, so that files replaced by rename (atomic writes) are seen.
func (r *Reloader) Watch(ctx context.Context, debounce time.Duration) error {
	if r.dir == "" {
		return ErrNoConfigDir
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer func() { _ = w.Close() }()
	if err := w.Add(r.dir); err != nil {
		return fmt.Errorf("watch %s: %w", r.dir, err)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			// Any change counts, temporary files and Kubernetes' ..data
			// swaps included: a reload that finds the same content hash
			// does nothing.
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.log.WarnContext(ctx, "configuration watcher error", "error", err.Error())
		case <-timer.C:
			_, _ = r.Reload(ctx, "file change")
		}
	}
}
