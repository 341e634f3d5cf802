package cli

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v2"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
)

// logHandler is the log's handler for --log-format: text (slog's
// key=value lines) or json (one JSON object a line).
func logHandler(format string, w io.Writer, level slog.Level) (slog.Handler, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		// A time.Duration is written as the text format writes it
		// ("1.5s"), not as slog's JSON default, an integer of nanoseconds
		// that names no unit.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, fmt.Errorf("wfn: --log-format %q: want text or json", format)
}

// serverErrorLog is an http.Server's ErrorLog: what net/http reports
// itself (its accept loop's errors, such as "too many open files", a
// handler's panic) goes into l, in --log-format's format, at level ERROR,
// rather than as lines of the standard logger's format on stderr, which
// broke --log-format json.
func serverErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelError)
}

// adminFlags place the operators' endpoints (package admin).
func adminFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "admin-listen", Usage: "serve /_wfn/ (dashboard, metrics, purge) on this address of its own instead of under the functions' (which keeps /_wfn/healthz)"},
		&cli.StringSliceFlag{Name: "admin-from", Usage: "CIDR or address allowed to the dashboard and /_wfn/metrics, by socket address (repeatable; default: loopback only)"},
	}
}

// adminOptions are the admin flags' values.
type adminOptions struct {
	listen string
	from   []string
}

func adminFlagValues(c *cli.Context) adminOptions {
	return adminOptions{listen: c.String("admin-listen"), from: c.StringSlice("admin-from")}
}

// adminSide is what serve runs for the operators' endpoints: the Monitor
// set into the host's configuration, then the endpoints and, with
// --admin-listen, their own server.
type adminSide struct {
	opts adminOptions
	mon  *admin.Monitor
	ln   net.Listener // with --admin-listen
	srv  *admin.Server
	http *http.Server // with --admin-listen
}

// newAdminSide listens on --admin-listen, if given, and puts a Monitor
// between cfg's logger and its handler, with the access log on.
func newAdminSide(opts adminOptions, cfg *host.Config) (*adminSide, error) {
	a := &adminSide{opts: opts}
	if _, err := prefixes("--admin-from", opts.from); err != nil {
		return nil, err
	}
	if opts.listen != "" {
		ln, err := net.Listen("tcp", opts.listen)
		if err != nil {
			return nil, fmt.Errorf("wfn: cannot listen on --admin-listen: %w", err)
		}
		a.ln = ln
	}
	a.mon = admin.NewMonitor(cfg.Logger.Handler())
	cfg.Logger = slog.New(a.mon)
	cfg.AccessLog = true
	cfg.OnAccess = a.mon.Access
	return a, nil
}

// start mounts the endpoints for h: it returns the functions' handler,
// and serves the endpoints on their own address with --admin-listen.
func (a *adminSide) start(h *host.Host, log *slog.Logger) (http.Handler, error) {
	from, _ := prefixes("--admin-from", a.opts.from)
	srv, err := admin.New(h, admin.Options{AllowFrom: from, Monitor: a.mon})
	if err != nil {
		return nil, err
	}
	a.srv = srv
	if a.ln == nil {
		return srv.Mount(h), nil
	}
	a.http = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: serverErrorLog(log)}
	a.http.RegisterOnShutdown(srv.EndStreams)
	go func() {
		if err := a.http.Serve(a.ln); err != nil && err != http.ErrServerClosed {
			log.Error("the admin server stopped", "err", err)
		}
	}()
	log.Info("operator endpoints", "url", "http://"+readyAddr(a.ln.Addr())+admin.Prefix)
	return srv.MountHealth(h), nil
}

// close closes the admin listener when start was not reached.
func (a *adminSide) abandon() {
	if a.ln != nil {
		a.ln.Close()
	}
}

// shutdown marks the host draining, so that /_wfn/readyz answers 503,
// and ends the event streams, before the functions' server shuts down.
// The admin server of --admin-listen keeps serving until close: a load
// balancer's readiness probe there sees 503 throughout the drain, and
// takes the host out of rotation (on the functions' listener, which
// Shutdown closes first, the probe is refused).
func (a *adminSide) shutdown() {
	if a.srv != nil {
		a.srv.Drain()
		a.srv.EndStreams()
	}
}

// close closes the admin server of --admin-listen and then the error log,
// once the host is closed.
func (a *adminSide) close() error {
	if a.http != nil {
		_ = a.http.Close()
	}
	if a.srv == nil {
		return nil
	}
	return a.srv.Close()
}

// redisLog is go-redis's logger (redis.SetLogger, set once per process):
// what go-redis reports itself (a failed dial, a connection dropped) goes
// into the log of the latest serve at debug level, rather than as lines of
// its own format on the process's stderr (which broke --log-format json).
// The cache store reports the same failures in its own words, at most
// every 10 s.
var redisLog struct {
	once   sync.Once
	logger atomic.Pointer[slog.Logger]
}

type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := redisLog.logger.Load(); l != nil {
		l.DebugContext(ctx, "go-redis: "+strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}

// routeRedisLog sends go-redis's log lines to l.
func routeRedisLog(l *slog.Logger) {
	redisLog.logger.Store(l)
	redisLog.once.Do(func() { redis.SetLogger(redisLogger{}) })
}
